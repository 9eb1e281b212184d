"""A response whose body is written as it is produced: server-sent events for the live routes.

The body is an async iterator of chunks sent through the ASGI ``send`` one by one. A client that
goes away is noticed by a second task reading ``receive`` (for ``http.disconnect``): the body is
then cancelled, so its ``finally`` (unsubscribing) runs at once rather than at the next write.

A stream never ends by itself, and a server shutting down gracefully waits for its responses to
end: ``tracesink serve`` would wait out its whole grace period for every open viewer. So the
response leaves a callback in its scope under ``STOP_ON_SHUTDOWN`` (``scope_keys.py``); the
server's protocol (``server/protocol.py``) calls it when the server stops, and the stream ends
cleanly then (an ``EventSource`` reconnects, with ``Last-Event-ID``, to whatever serves the
address next).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import msgspec

from tracesink.app.http import Request, Response, Send
from tracesink.scope_keys import STOP_ON_SHUTDOWN

SSE_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # a proxy (nginx) must not buffer the stream
)


class StreamingResponse(Response):
    __slots__ = ("_body", "_request")

    def __init__(
        self,
        status: int,
        body: AsyncGenerator[bytes, None],
        request: Request,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        super().__init__(status, b"", headers)
        self._body = body
        self._request = request

    @property
    def body_chunks(self) -> AsyncGenerator[bytes, None]:
        """The body, for a caller inside the process that reads it rather than sends it
        (``/mcp``'s ``wait_for_entries``): it must ``aclose()`` it."""
        return self._body

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        stopped = asyncio.Event()
        self._request.scope[STOP_ON_SHUTDOWN] = stopped.set
        writer = asyncio.create_task(self._write(send))
        listener = asyncio.create_task(self._until_disconnect())
        stopper = asyncio.create_task(stopped.wait())
        tasks = (writer, listener, stopper)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._body.aclose()
        if writer in done:
            failure = writer.exception()
            if failure is not None:
                raise failure  # the server logs it and drops the connection mid-stream
        if listener not in done:  # the body ended, or the server stops: end the response
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send) -> None:
        async for chunk in self._body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _until_disconnect(self) -> None:
        while (await self._request.receive())["type"] != "http.disconnect":
            pass


def sse_event(data: bytes, event_id: str | None = None, event: str | None = None) -> bytes:
    """One event; ``data`` is one line of JSON (msgspec never writes a raw newline)."""
    head = b""
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


def sse_json(event: str, content: Any) -> bytes:
    return sse_event(msgspec.json.encode(content), event=event)
