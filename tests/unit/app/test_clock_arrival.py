"""The receive time a sender's clock is measured against is when its request began to arrive
(the server stamps it in the scope), not when the route got to it."""

from __future__ import annotations

from tracesink.app.http import Message, Request, Scope
from tracesink.app.ingest_routes import _sender
from tracesink.ingest.clock import clock_offset
from tracesink.scope_keys import ARRIVED_MS

NOW = 1_795_946_400_000


def request(query: bytes, arrived_ms: int | None) -> Request:
    scope: Scope = {"type": "http", "method": "POST", "path": "/logs", "query_string": query}
    scope["headers"] = []
    if arrived_ms is not None:
        scope[ARRIVED_MS] = arrived_ms

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    return Request(scope, receive)


def test_time_queued_before_the_route_is_not_taken_for_clock_error() -> None:
    """A request stamped by a right clock that waited 2 s in this process before its route
    ran corrects nothing; without the arrival stamp (in-process) it is read as of now."""
    waited = _sender(request(b"clock=%d" % (NOW - 2000), NOW - 2000), NOW)
    assert clock_offset(waited.clock_ms, NOW - 2100, NOW) is None
    unstamped = _sender(request(b"clock=%d" % (NOW - 2000), None), NOW)
    assert clock_offset(unstamped.clock_ms, NOW - 2100, NOW) == 2000
    assert _sender(request(b"", NOW), NOW).clock_ms is None
