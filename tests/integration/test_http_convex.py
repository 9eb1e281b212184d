"""POST /ingest/convex and GET /sdk.mjs through the ASGI app (in-process, with a clock): how a
delivery's entries meet the limits and validation, and what a repeat may store again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.conftest import AppClient, FakeClock
from tracesink.app import create_app
from tracesink.config import Settings
from tracesink.errors import StorageError
from tracesink.pipeline import policy_from
from tracesink.store.memory import MemoryStore

SECRET = "convex-webhook-secret-0123456789"  # noqa: S105 - a test credential
MakeApp = Callable[..., Any]


def event(message: str, request_id: str = "req-1", ts: int = 1) -> dict[str, Any]:
    return {
        "topic": "console",
        "timestamp": ts,
        "function": {"path": "a:b", "request_id": request_id, "type": "action"},
        "log_level": "ERROR",
        "message": message,
    }


async def deliver(sink: AppClient, events: list[dict[str, Any]]) -> httpx.Response:
    body = json.dumps(events).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return await sink.http.post(
        "/ingest/convex", content=body, headers={"x-webhook-signature": signature}
    )


async def test_entries_refused_by_a_limit_are_reported_and_may_come_again(
    make_app: MakeApp, clock: FakeClock
) -> None:
    """Over the trace quota: the refused events are listed with their index and level, the
    delivery is still a 200, and once the window has room a repeat stores exactly those."""
    sink: AppClient = await make_app(convex_webhook_secret=SECRET, trace_limit=2, window_s=60)
    events = [event(f"[trace:cx-limit] {i}", ts=i) for i in range(3)]
    first = await deliver(sink, events)
    assert first.status_code == 200
    body = first.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["limited_by"]) for r in body["rejected"]] == [(2, "trace")]
    clock.advance(121)
    again = (await deliver(sink, events)).json()
    assert (again["accepted"], again["duplicates"]) == (1, 2)
    trace = (await sink.http.get("/logs/cx-limit")).json()
    assert [e["message"] for e in trace["entries"] if "kind" not in e] == ["0", "1", "2"]
    assert {e["level"] for e in trace["entries"] if "kind" not in e} == {"error"}


async def test_an_event_that_breaks_the_contract_is_rejected_alone(make_app: MakeApp) -> None:
    """A request id that is no valid trace id: that event is rejected naming trace_id and
    counted as invalid; the others are stored."""
    sink: AppClient = await make_app(convex_webhook_secret=SECRET)
    answer = (await deliver(sink, [event("bad", request_id="has space"), event("good")])).json()
    assert answer["accepted"] == 1
    assert answer["rejected"] == [
        {"index": 0, "reason": answer["rejected"][0]["reason"], "field": "trace_id"}
    ]
    assert sink.app.pipeline.stats()["entries"]["refused"] == {"convex": {"invalid": 1}}


async def test_the_sdk_is_served(sink: AppClient) -> None:
    """GET /sdk.mjs is JavaScript, cacheable, not sniffed; GET /sdk.d.ts its types."""
    script = await sink.http.get("/sdk.mjs")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert b"export function createLogger" in script.content
    types = await sink.http.get("/sdk.d.ts")
    assert b"export declare function createLogger" in types.content


async def test_a_failing_request_map_files_failures_under_their_ids_and_says_so_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """When the store cannot look up or remember request ids, deliveries still succeed: an
    untagged failure is filed under its request id (not lost), and the map's failure is
    logged once per interval, not once per delivery."""

    class NoMapStore(MemoryStore):
        async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
            raise StorageError("the map is away")

        async def traces_of_requests(
            self, request_ids: Sequence[str], now_ms: int
        ) -> dict[str, str]:
            raise StorageError("the map is away")

    settings = replace(Settings(), convex_webhook_secret=SECRET)
    app = create_app(settings, store=NoMapStore("memory://", policy_from(settings)), clock=clock)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            sink = AppClient(app, http)
            failure = {
                "topic": "function_execution",
                "function": {"path": "a:b", "request_id": "req-9", "type": "action"},
                "status": "failure",
                "error_message": "boom",
            }
            with caplog.at_level("WARNING", logger="tracesink"):
                for n in range(3):
                    tagged = event(f"[trace:t-9] line {n}", request_id="req-9", ts=n)
                    assert (await deliver(sink, [tagged])).json()["accepted"] == 1
                    assert (await deliver(sink, [{**failure, "timestamp": n}])).status_code == 200
            stored = (await http.get("/logs/req-9")).json()["entries"]
    assert [e["level"] for e in stored] == ["error"] * 3
    warned = [r.getMessage() for r in caplog.records if "Convex request map" in r.getMessage()]
    assert warned == ["Convex request map unavailable: the map is away"]
