"""The few ASGI primitives the app needs: a request view, body reading with a cap, responses.

The app is plain ASGI rather than a framework: on this machine a bare ASGI app served ~64k req/s,
a Starlette route ~40k and FastAPI with pydantic ~13.6k (DESIGN.md, "Measuring"). Ingest is the
hot path and its needs are small (two POST routes, a cap on the body, JSON out), so the framework's
cost buys nothing here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import msgspec

from tracesink import rules
from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.query import content_length
from tracesink.errors import TraceSinkError, ValidationError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_encode = msgspec.json.Encoder().encode


class ClientDisconnected(TraceSinkError):
    """The client went away before its request body was complete: nothing is stored."""


class Request:
    __slots__ = ("_complete_body", "_headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive, complete_body: bytes | None = None) -> None:
        """``complete_body``: the whole body, when the server has it already (server/lane.py);
        ``body()`` then hands it over with the same size check, and never waits."""
        self.scope = scope
        self.receive = receive
        self._headers: dict[str, str] | None = None
        self._complete_body = complete_body

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def headers(self) -> dict[str, str]:
        """Lower-cased header names; the first value of a repeated header."""
        if self._headers is None:
            # Built from the last header to the first, so that the first value of a name is
            # the one kept (one comprehension: ~3x fewer steps than setdefault in a loop).
            self._headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in reversed(self.scope["headers"])
            }
        return self._headers

    def query(self, name: str) -> str | None:
        raw = self.scope.get("query_string", b"")
        if not raw:  # the usual ingest request has no query: skip parsing one (issue 27)
            return None
        values = parse_qs(raw.decode("latin-1")).get(name)
        return values[0] if values else None

    async def body(self, limit: int, deadlines: BodyDeadlines) -> bytes:
        """The whole body, refused with 413 as soon as it is known to exceed ``limit`` bytes,
        and with 408 when it has not fully arrived in time (a slow-loris client)."""
        if self._complete_body is not None:  # its length is the one declared (the parser's)
            if len(self._complete_body) > limit:
                raise body_too_large(limit)
            return self._complete_body
        declared = content_length(self.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise body_too_large(limit)
        try:
            with deadlines.guard():
                return await self._read_body(limit)
        except TimeoutError:
            raise ValidationError(
                f"the request body did not arrive within {deadlines.timeout_s:g} s "
                "(TRACESINK_READ_TIMEOUT_S)",
                field="body",
                status=408,
            ) from None

    async def _read_body(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected("client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def body_too_large(limit: int) -> ValidationError:
    return ValidationError(rules.message("body_too_large", max=limit), field="body", status=413)


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()
    ) -> None:
        self.status = status
        self.body = body
        self.headers: Headers = list(headers)

    def with_length(self) -> Headers:
        """The headers with the body's Content-Length, as every answer here is sent."""
        return [*self.headers, (b"content-length", str(len(self.body)).encode())]

    async def send(self, send: Send) -> None:
        headers = self.with_length()
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def json_response(
    status: int, content: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> Response:
    return Response(status, _encode(content), [(b"content-type", b"application/json"), *headers])


def error_response(
    status: int, message: str, field: str | None = None, headers: Iterable[tuple[bytes, bytes]] = ()
) -> Response:
    content: dict[str, Any] = {"success": False, "error": message}
    if field is not None:
        content["field"] = field
    return json_response(status, content, headers)
