"""Labels are not credentials: an ingest key written ``key@system`` pins the system its clients
log as, so a keyed client cannot spend another system's share by naming it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AppClient
from tests.support.refusal import assert_refused
from tracesink.config import load_settings
from tracesink.errors import ConfigurationError

MakeApp = Callable[..., Any]
KEY = "pk_edge_0123456789"
HEADERS = {"x-tracesink-key": KEY}


async def pinned_sink(make_app: MakeApp) -> AppClient:
    settings = load_settings({"TRACESINK_INGEST_KEYS": f"{KEY}@worker=*"})
    sink: AppClient = await make_app(ingest_keys=settings.ingest_keys)
    return sink


async def test_a_pinned_key_logs_as_its_system_whatever_the_headers(make_app: MakeApp) -> None:
    """No system in the body, X-Log-System: browser: stored as worker, by the ingest key."""
    sink = await pinned_sink(make_app)
    entry = {"trace_id": "pin-1", "message": "m"}
    response = await sink.http.post(
        "/log", json=entry, headers={**HEADERS, "x-log-system": "browser"}
    )
    assert response.status_code == 200
    [stored] = (await sink.http.get("/logs/pin-1")).json()["entries"]
    assert (stored["system"], stored["detected_by"]) == ("worker", "ingest_key")


async def test_a_pinned_key_may_not_name_another_system(make_app: MakeApp) -> None:
    """ "system": "browser" with a worker key: 400 naming `system`; in a batch, that item only."""
    sink = await pinned_sink(make_app)
    single = await sink.http.post(
        "/log", json={"trace_id": "pin-2", "message": "m", "system": "browser"}, headers=HEADERS
    )
    assert single.status_code == 400
    assert single.json()["field"] == "system"
    batch = await sink.http.post(
        "/logs",
        json=[
            {"trace_id": "pin-3", "message": "m", "system": "worker"},
            {"trace_id": "pin-3", "message": "m", "system": "convex"},
        ],
        headers=HEADERS,
    )
    assert batch.json()["accepted"] == 1
    assert [r["field"] for r in batch.json()["rejected"]] == ["system"]


async def test_the_key_without_its_pin_is_what_clients_send(make_app: MakeApp) -> None:
    """The key is `pk_edge_…`; `pk_edge_…@worker` is not a key."""
    sink = await pinned_sink(make_app)
    wrong = await sink.http.post(
        "/log", json={"trace_id": "p", "message": "m"}, headers={"x-tracesink-key": f"{KEY}@worker"}
    )
    assert_refused(wrong, 401, "key", "X-Tracesink-Key")


def test_an_unknown_pinned_system_is_refused_at_start() -> None:
    """`key@robot`: a configuration error naming the variable and the systems."""
    with pytest.raises(ConfigurationError, match=r"TRACESINK_INGEST_KEYS.*browser"):
        load_settings({"TRACESINK_INGEST_KEYS": f"{KEY}@robot=*"})


async def test_a_pinned_key_pins_otlp_records_too(make_app: MakeApp) -> None:
    """OTLP/HTTP through a worker key: its records are stored as worker, whatever the service."""
    sink = await pinned_sink(make_app)
    record = {"traceId": "2" * 32, "body": {"stringValue": "from otel"}}
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}
    response = await sink.http.post(
        "/v1/logs", json=body, headers={**HEADERS, "x-log-system": "browser"}
    )
    assert response.status_code == 200
    [stored] = (await sink.http.get("/logs/" + "2" * 32)).json()["entries"]
    assert (stored["system"], stored["detected_by"]) == ("worker", "ingest_key")
