"""POST /ingest/convex and GET /sdk.mjs through the ASGI app (in-process, with a clock): how a
delivery's entries meet the limits and validation, and what a repeat may store again."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import AppClient, FakeClock

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
