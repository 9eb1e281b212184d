"""The bound on requests served at once (``TRACESINK_MAX_CONCURRENCY``), counted by the app.

uvicorn's own ``limit_concurrency`` counts open connections as well as running requests, so a
thousand idle sockets made every request answer 503 for as long as they stayed open, and it logs
a line for each refusal. Here only requests count (an idle or slow connection is the protocol's
business: ``protocol.py`` cuts it), and refusals are logged at most once per interval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from tracesink.app.http import Receive, Response, Scope, Send, error_response
from tracesink.app.throttled_log import ThrottledLog
from tracesink.server.lane import Answer, LaneApp

REFUSAL_LOG_EVERY_S = 10.0
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class InFlightLimit:
    """An ASGI wrapper answering 503 (with Retry-After) to requests beyond ``limit`` at once;
    requests the server answers past the ASGI exchange (``answer_complete``) count alike."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self._refusals = ThrottledLog("request refused", REFUSAL_LOG_EVERY_S)
        # The lane (server/lane.py) goes through here too, when the app has one.
        self.lane_paths: frozenset[str] = getattr(app, "lane_paths", frozenset())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self._refusal().send(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def answer_complete(self, scope: Scope, body: bytes) -> Answer | None:
        if self.in_flight >= self.limit:
            refusal = self._refusal()
            return refusal.status, refusal.with_length(), refusal.body
        self.in_flight += 1
        try:
            return await cast(LaneApp, self.app).answer_complete(scope, body)
        finally:
            self.in_flight -= 1

    def _refusal(self) -> Response:
        message = (
            f"more than {self.limit} requests at once (TRACESINK_MAX_CONCURRENCY); retry later"
        )
        self._refusals.warn(RuntimeError(message))
        return error_response(503, message, headers=[(b"retry-after", b"1")])
