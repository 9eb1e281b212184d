"""The ASGI and WSGI middleware run each request under the trace id it brings (or a new one)
and say it back in X-Trace-Id."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from wsgiref.util import setup_testing_defaults

import httpx

from tracesink.client import TraceMiddleware, WSGITraceMiddleware, current_trace_id

W3C = "4bf92f3577b34da6a3ce929d0e0e4736"
Message = MutableMapping[str, Any]


async def asgi_app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    body = (current_trace_id() or "none").encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def test_asgi_requests_run_under_their_trace() -> None:
    """X-Trace-Id, traceparent, or a new id: the app sees it, the response says it back."""
    transport = httpx.ASGITransport(app=TraceMiddleware(asgi_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        given = await client.get("/", headers={"X-Trace-Id": "req-1"})
        parent = await client.get("/", headers={"traceparent": f"00-{W3C}-00f067aa0ba902b7-01"})
        fresh = await client.get("/")
    assert (given.text, given.headers["x-trace-id"]) == ("req-1", "req-1")
    assert parent.text == W3C
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.text)
    assert fresh.headers["x-trace-id"] == fresh.text
    assert current_trace_id() is None


async def test_asgi_lifespan_passes_through() -> None:
    """Non-HTTP scopes reach the app untouched."""
    seen: list[str] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        return None

    await TraceMiddleware(app)({"type": "lifespan"}, nothing, ignore)
    assert seen == ["lifespan"]


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [(current_trace_id() or "none").encode()]


def call_wsgi(headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    environ: dict[str, Any] = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    setup_testing_defaults(environ)
    answered: dict[str, str] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        answered.update(response_headers)

    body = b"".join(WSGITraceMiddleware(wsgi_app)(environ, start_response))
    return body, answered


def test_wsgi_requests_run_under_their_trace() -> None:
    """The same for WSGI apps."""
    body, headers = call_wsgi({"X-Trace-Id": "wsgi-1"})
    assert (body, headers["X-Trace-Id"]) == (b"wsgi-1", "wsgi-1")
    body, _ = call_wsgi({"traceparent": f"00-{W3C}-00f067aa0ba902b7-01"})
    assert body == W3C.encode()
    body, headers = call_wsgi({})
    assert re.fullmatch(rb"[0-9a-f]{32}", body)
    assert current_trace_id() is None
