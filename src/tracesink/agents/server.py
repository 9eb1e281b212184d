"""The MCP server: the tools of ``tools.py`` declared with the official ``mcp`` SDK.

One server for both transports: ``tracesink mcp`` runs it over stdio with an ``HttpReader``, the
service mounts it at ``/mcp`` with an ``AppReader``. Every tool is read-only (``readOnlyHint``);
its docstring, which the agent reads, says when to use it. A refused read (no such trace, a bad
filter, no token) comes back as a tool error whose one line says what to do.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from tracesink import __version__
from tracesink.agents import tools, wait
from tracesink.agents.reader import Reader
from tracesink.agents.since import DEFAULT_WINDOW
from tracesink.errors import TraceSinkError

INSTRUCTIONS = (
    "tracesink holds the logs of a developer's systems (browser, backend, edge worker ...) "
    "grouped by trace id, for about an hour. Start with find_traces (which traces, systems and "
    "errors there are), read one with get_trace (the whole cross-system story, in order), use "
    "search to find text across recent traces, and wait_for_entries after running something to "
    "read what it logged. Answers are plain text within 60,000 characters; a cut answer ends "
    "with the exact call that returns the rest."
)
ToolFunction = Callable[..., Awaitable[str]]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

Level = Annotated[
    Literal["log", "info", "warn", "error"] | None,
    Field(description="only entries this severe or worse (log < info < warn < error)"),
]
System = Annotated[
    str | None,
    Field(description="only these systems, comma-separated (e.g. 'browser,worker')"),
]
Text = Annotated[
    str | None,
    Field(description="case-insensitive text in the message, stack, user or context"),
]
Since = Annotated[
    str | None,
    Field(description="a window back from now ('30s', '15m', '2h'), an entry id, or 'all'"),
]
Format = Annotated[
    Literal["text", "json"],
    Field(description="text (compact, for reading) or json (the stored fields, exact)"),
]


async def _answer(answer: Awaitable[str]) -> str:
    """A tool's answer; a refusal reaches the agent as its one line (a ToolError), rather than
    as an 'unexpected error' whose text the SDK keeps on the server."""
    try:
        return await answer
    except TraceSinkError as exc:
        raise ToolError(str(exc)) from None


@contextlib.contextmanager
def _logging_untouched() -> Iterator[None]:
    """``MCPServer()`` calls ``logging.basicConfig`` (a rich handler on the root logger, at its
    level): inside the service that would restyle every log line of the process. While the root
    logger holds a handler, basicConfig does nothing; a placeholder is one for the moment."""
    placeholder = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(placeholder)
    try:
        yield
    finally:
        root.removeHandler(placeholder)


def _tool(server: MCPServer) -> Callable[[ToolFunction], ToolFunction]:
    """Declare a read-only tool whose description is its docstring, dedented; plain text only
    (no structured copy of the same text, which would double every answer's size)."""

    def declare(fn: ToolFunction) -> ToolFunction:
        server.add_tool(
            fn,
            description=inspect.cleandoc(fn.__doc__ or ""),
            annotations=READ_ONLY,
            structured_output=False,
        )
        return fn

    return declare


def build_server(reader: Reader, clock: Callable[[], float] = time.time) -> MCPServer:
    with _logging_untouched():
        server: MCPServer = MCPServer(
            "tracesink", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
        )

    def now_ms() -> int:
        return int(clock() * 1000)

    @_tool(server)
    async def find_traces(
        since: Since = DEFAULT_WINDOW,
        level: Level = None,
        system: System = None,
        text: Text = None,
        limit: Annotated[int, Field(ge=1, le=tools.FIND_MAX)] = tools.FIND_DEFAULT,
        format: Format = "text",
    ) -> str:
        """Use first: lists recent traces (newest first) with their systems, entry counts per
        system and level, first error and first line. Use it to discover which trace ids,
        systems and errors exist before get_trace or search. Default window: the last 15
        minutes (since='1h' or 'all' for more). Costs one read per trace listed."""
        return await _answer(
            tools.find_traces(reader, now_ms(), since, level, system, text, limit, format)
        )

    @_tool(server)
    async def get_trace(
        trace_id: Annotated[str, Field(description="a trace id from find_traces or a log")],
        level: Level = None,
        system: System = None,
        text: Text = None,
        cursor: Annotated[
            str | None, Field(description="the cursor a cut answer ended with: the next page")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=tools.PAGE_MAX)] = tools.PAGE_DEFAULT,
        format: Format = "text",
    ) -> str:
        """Use to understand what happened in one request or user action: the trace's whole
        story across systems in order, one line per entry (+seconds since the first entry,
        system, level, message) with context and stack folded beneath. A header gives the
        systems, levels, first error, drop markers (entries refused by rate limits) and expiry.
        An answer never exceeds 60,000 characters; when cut, it ends with the call for the next
        page (cursor). Filter by level='error' or text to read less."""
        return await _answer(
            tools.get_trace(reader, trace_id, level, system, text, cursor, limit, format)
        )

    @_tool(server)
    async def search(
        text: Annotated[str, Field(description="case-insensitive text to look for")],
        level: Level = None,
        system: System = None,
        since: Since = DEFAULT_WINDOW,
        limit: Annotated[int, Field(ge=1, le=tools.SEARCH_MAX)] = tools.SEARCH_DEFAULT,
        format: Format = "text",
    ) -> str:
        """Use when you know what to look for (an error message, a user id, an order number) but
        not which trace: entries containing the text across the 50 most recent traces, newest
        first, each with its trace id. Default window: the last 15 minutes."""
        return await _answer(
            tools.search(reader, now_ms(), text, level, system, since, limit, format)
        )

    @_tool(server)
    async def wait_for_entries(
        trace_id: Annotated[
            str | None, Field(description="wait for this trace only (else any trace)")
        ] = None,
        level: Level = None,
        system: System = None,
        text: Text = None,
        since: Annotated[
            str | None,
            Field(
                description="an entry id (a previous answer's cursor), or a window like '2m' "
                "(entries already logged in it count); default: only entries after this call"
            ),
        ] = None,
        timeout_s: Annotated[float, Field(gt=0, le=wait.WAIT_MAX_S)] = wait.WAIT_DEFAULT_S,
    ) -> str:
        """Use to read what a test, request or page load logs: blocks until entries matching
        the filters arrive (at most timeout_s, 60 s), then returns them and a cursor (since) to
        wait for more without missing any. No polling loop needed. After something that has
        already run, pass since='2m' (what it logged in the last 2 minutes counts, returned at
        once); before starting something in the background, leave since out."""
        return await _answer(
            wait.wait_for_entries(reader, now_ms(), trace_id, level, system, text, since, timeout_s)
        )

    @server.prompt()
    async def latest_error() -> str:
        """The newest trace with an error in the last hour, to debug it."""
        try:
            story = await tools.latest_error(reader, now_ms())
        except TraceSinkError as exc:
            story = f"(tracesink could not be read: {exc})"
        return (
            "Find the cause of the latest error in this trace from tracesink, and say which "
            f"system and code to change:\n\n{story}"
        )

    return server
