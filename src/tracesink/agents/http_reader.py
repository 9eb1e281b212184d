"""The tools' reader over HTTP: what ``tracesink mcp`` uses to reach a running tracesink.

The URL, the read token and every failure message come from the terminal commands' client
(``terminal/client.py``): an agent sees the same one line a person would ("wants a read token:
set TRACESINK_READ_TOKEN", "cannot reach tracesink at …").
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from tracesink.agents.reader import ReadFailed, entries_of_events
from tracesink.errors import TraceSinkError
from tracesink.terminal.client import ServerClient


class HttpReader:
    def __init__(self, client: ServerClient) -> None:
        self._client = client
        self._http = client.async_http()

    async def aclose(self) -> None:
        await self._http.aclose()
        self._client.close()

    async def _get(self, path: str, params: Mapping[str, str]) -> httpx.Response | None:
        try:
            response = await self._http.get(path, params=dict(params))
        except httpx.HTTPError as exc:
            raise ReadFailed(str(self._client.unreachable(exc))) from None
        if response.status_code == 404 and path.startswith("/logs/"):
            return None
        if response.status_code == 429:  # the daily command budget (the terminal waits on it)
            raise ReadFailed(f"{self._client.url}{path} answered 429: {_error_of(response)}")
        try:
            self._client.check(response, path)
        except TraceSinkError as exc:
            raise ReadFailed(str(exc)) from None
        return response

    async def traces(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        response = await self._get("/traces", params)
        assert response is not None  # only /logs/… answers 404 as "no such trace"
        traces: list[dict[str, Any]] = response.json()["traces"]
        return traces

    async def trace(self, trace_id: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        response = await self._get(f"/logs/{trace_id}", params)
        return None if response is None else dict(response.json())

    @contextlib.asynccontextmanager
    async def live(
        self, trace_id: str | None, params: Mapping[str, str]
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        path = "/live" if trace_id is None else f"/logs/{trace_id}/live"
        timeout = httpx.Timeout(10.0, read=None)  # the caller bounds the wait
        headers = {"accept": "text/event-stream"}
        try:
            async with self._http.stream(
                "GET", path, params=dict(params), headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    try:
                        self._client.check(response, path)
                    except TraceSinkError as exc:
                        raise ReadFailed(str(exc)) from None
                yield _entries(response)
        except httpx.HTTPError as exc:
            raise ReadFailed(str(self._client.unreachable(exc))) from None


async def _entries(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    lines: list[str] = []
    async for line in response.aiter_lines():
        lines.append(line)
        if line == "":  # an event ends at a blank line
            for entry in entries_of_events(lines):
                yield entry
            lines = []


def _error_of(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error"))
    except ValueError:
        return response.text[:200]
