"""ASGI and WSGI middleware: the incoming request's trace id becomes the current one.

The trace id comes from ``X-Trace-Id``, else a W3C ``traceparent``; a request without one (or
with a malformed one) starts a new trace. While the app handles the request, every log record
and every outgoing call through ``tracesink.client.propagate`` carries that id; the response
says it back in ``X-Trace-Id`` (so a browser or a test can see which trace to read).

    app = TraceMiddleware(app)                     # Starlette, FastAPI, any ASGI app
    app.wsgi_app = WSGITraceMiddleware(app.wsgi_app)  # Flask, Django's WSGI handler, …
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from tracesink.client.context import new_trace_id, reset_trace_id, set_trace_id
from tracesink.client.propagate import trace_id_from_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class TraceMiddleware:
    """ASGI: runs each HTTP (and websocket) request under its trace id."""

    def __init__(self, app: ASGIApp, *, echo_header: bool = True) -> None:
        self.app = app
        self.echo_header = echo_header

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in reversed(scope.get("headers", []))
        }
        trace_id = trace_id_from_headers(headers) or new_trace_id()
        echoed = (b"x-trace-id", trace_id.encode())

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start" and self.echo_header:
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        token = set_trace_id(trace_id)
        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            reset_trace_id(token)


class WSGITraceMiddleware:
    """WSGI: runs each request under its trace id (while the app is called; a streamed body
    that logs while it is iterated later runs without it)."""

    def __init__(self, app: WSGIApp, *, echo_header: bool = True) -> None:
        self.app = app
        self.echo_header = echo_header

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        headers = {
            "x-trace-id": environ.get("HTTP_X_TRACE_ID", ""),
            "traceparent": environ.get("HTTP_TRACEPARENT", ""),
        }
        trace_id = trace_id_from_headers(headers) or new_trace_id()

        def start_with_trace(status: str, response_headers: list[Any], *rest: Any) -> Any:
            if self.echo_header:
                response_headers = [*response_headers, ("X-Trace-Id", trace_id)]
            return start_response(status, response_headers, *rest)

        token = set_trace_id(trace_id)
        try:
            return self.app(environ, start_with_trace)
        finally:
            reset_trace_id(token)
