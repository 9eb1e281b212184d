"""A store outage seen over HTTP: 202 queued, /health degraded, 503 when the spool is full."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.support.poll import until
from tests.unit.store.test_spooling import FlakyStore
from tracesink.app import TraceSinkApp, create_app
from tracesink.app.throttled_log import ThrottledLog
from tracesink.config import Settings
from tracesink.errors import StorageError

ENTRY = {"trace_id": "t", "message": "m"}


@pytest.fixture
async def outage(
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, FlakyStore, TraceSinkApp]]:
    store = FlakyStore()
    # The URL only selects a spooling setup; the given store is what is used.
    settings = Settings(store="redis://unused", spool_dir=str(tmp_path), spool_max_bytes=2000)
    app = create_app(settings, store=store)
    async with (
        app.running(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as http,
    ):
        yield http, store, app


def healthy(http: httpx.AsyncClient) -> Callable[[], Awaitable[bool]]:
    """A condition for ``until``: /health says ok (the spool replayed)."""

    async def ok() -> bool:
        return bool((await http.get("/health")).json()["status"] == "ok")

    return ok


async def test_an_outage_answers_202_queued_and_health_degraded(
    outage: tuple[httpx.AsyncClient, FlakyStore, TraceSinkApp],
) -> None:
    """Entries sent while the store is down are acknowledged as queued, then stored."""
    http, store, _ = outage
    store.down = True
    one = await http.post("/log", json=ENTRY)
    assert one.status_code == 202
    assert one.json()["queued"] is True
    batch = await http.post("/logs", json=[ENTRY, ENTRY])
    assert (batch.status_code, batch.json()["queued"], batch.json()["accepted"]) == (202, True, 2)
    health = await http.get("/health")
    assert (health.status_code, health.json()["status"]) == (200, "degraded")
    assert health.json()["spool"]["entries"] == 3
    store.down = False
    await until(healthy(http), "/health ok once the spool is replayed")
    assert (await http.get("/logs/t")).json()["count"] == 3


async def test_a_full_spool_answers_503_with_retry_after(
    outage: tuple[httpx.AsyncClient, FlakyStore, TraceSinkApp],
) -> None:
    """When the spool cannot take more, ingest refuses with 503 and Retry-After; nothing is
    acknowledged that is not kept."""
    http, store, _ = outage
    store.down = True
    statuses = [
        (await http.post("/log", json={**ENTRY, "trace_id": f"t{i}"})).status_code
        for i in range(40)
    ]
    assert 202 in statuses
    assert statuses[-1] == 503
    refused = await http.post("/log", json=ENTRY)
    assert refused.headers["retry-after"] == "1"
    assert "TRACESINK_SPOOL_MAX_BYTES" in refused.json()["error"]
    store.down = False
    acknowledged = statuses.count(202)
    await until(healthy(http), "/health ok once the spool is replayed")
    traces = (await http.get("/traces", params={"limit": "100"})).json()["traces"]
    assert sum(t["count"] for t in traces) == acknowledged


def test_store_errors_are_logged_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An outage fails every request; the log gets one line per interval with a count."""
    throttled = ThrottledLog("store error", 60)
    for _ in range(5):
        throttled.warn(StorageError("connection refused"))
    assert [r.getMessage() for r in caplog.records] == ["store error: connection refused"]
    throttled._last -= 61  # the interval has passed
    throttled.warn(StorageError("connection refused"))
    assert caplog.records[-1].getMessage() == (
        "store error: connection refused (4 more since the last report)"
    )
