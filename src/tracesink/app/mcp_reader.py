"""The MCP tools' reader inside the service (``/mcp``): the read routes' handlers, called directly.
It lives in the app (the layers import downwards: ``agents/`` never imports ``app/``).

The request ``/mcp`` received was let in by the read guard already; each read here is the
route's own handler given a request of its own (path and query), so its filters, its order and
its placeholders are exactly what ``GET /logs/{id}`` serves, and it costs the same store commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import msgspec

from tracesink.agents.reader import ReadFailed, entries_of_events
from tracesink.app.http import Message, Request, Response
from tracesink.app.live_routes import get_live, get_trace_live
from tracesink.app.read_routes import get_trace, get_traces
from tracesink.app.state import AppState
from tracesink.app.streaming import StreamingResponse


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _request(path: str, params: Mapping[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": urlencode(dict(params)).encode(),
        "headers": [],
    }
    return Request(scope, _no_body)


def _refused(response: Response) -> ReadFailed:
    try:
        detail = str(msgspec.json.decode(response.body).get("error"))
    except (msgspec.DecodeError, AttributeError):
        detail = response.body[:200].decode("utf-8", "replace")
    return ReadFailed(f"tracesink answered {response.status}: {detail}")


class AppReader:
    def __init__(self, state: Callable[[], AppState], stopping: asyncio.Event) -> None:
        self._state = state  # read per call: the app's state exists between start-up and shutdown
        self._stopping = stopping  # set when the server stops: a wait ends rather than holding it

    async def traces(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        response = await get_traces(self._state(), _request("/traces", params))
        if response.status >= 400:
            raise _refused(response)
        traces: list[dict[str, Any]] = msgspec.json.decode(response.body)["traces"]
        return traces

    async def trace(self, trace_id: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        response = await get_trace(self._state(), _request(f"/logs/{trace_id}", params))
        if response.status == 404:
            return None
        if response.status >= 400:
            raise _refused(response)
        document: dict[str, Any] = msgspec.json.decode(response.body)
        return document

    @contextlib.asynccontextmanager
    async def live(
        self, trace_id: str | None, params: Mapping[str, str]
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        state = self._state()
        if trace_id is None:
            response = await get_live(state, _request("/live", params))
        else:
            response = await get_trace_live(state, _request(f"/logs/{trace_id}/live", params))
        if not isinstance(response, StreamingResponse):
            raise _refused(response)
        body = response.body_chunks
        try:
            yield _entries(body, self._stopping)
        finally:
            await body.aclose()  # unsubscribes from the live feed


async def _entries(
    body: AsyncGenerator[bytes, None], stopping: asyncio.Event
) -> AsyncIterator[dict[str, Any]]:
    """The entries of the stream's chunks (each chunk is whole events: live_routes._stream), until
    it ends or the server stops (as a live route's stream ends then: app/streaming.py)."""
    stopped = asyncio.ensure_future(stopping.wait())
    chunk: asyncio.Future[bytes] | None = None
    try:
        while True:
            chunk = asyncio.ensure_future(anext(body))
            await asyncio.wait((chunk, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not chunk.done():
                return
            try:
                data = chunk.result()
            except StopAsyncIteration:
                return
            for entry in entries_of_events(data.decode().split("\n")):
                yield entry
    finally:
        for pending in (chunk, stopped):
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
