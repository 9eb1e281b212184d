"""What the tools need from tracesink: the read routes' answers, whichever way they are reached.

Two implementations: ``http_reader.HttpReader`` (``tracesink mcp`` talking to a running
service) and ``app/mcp_reader.AppReader`` (``/mcp`` inside the service, calling the same route
handlers). Both go through the read routes, so filters, order and placeholders are the routes' own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import msgspec

from tracesink.errors import TraceSinkError
from tracesink.terminal.sse import events


class ReadFailed(TraceSinkError):
    """A read the service refused or could not answer; the message says why, for the agent."""


class Reader(Protocol):
    async def traces(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """``GET /traces`` with these query parameters: its ``traces``."""
        ...

    async def trace(self, trace_id: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        """``GET /logs/{trace_id}``: the whole answer, or None when there is no such trace."""
        ...

    def live(
        self, trace_id: str | None, params: Mapping[str, str]
    ) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """The entries of ``GET /logs/{trace_id}/live`` (or ``GET /live`` for None), decoded, as
        they arrive; ``params`` take the read filters and ``since``."""
        ...


def entries_of_events(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The entries among the server-sent events of these lines (``ready`` and the like are not)."""
    found: list[dict[str, Any]] = []
    for event in events(lines):
        if event.event == "message" and event.data:
            item = msgspec.json.decode(event.data)
            if isinstance(item, dict):
                found.append(item)
    return found
