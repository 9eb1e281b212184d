"""``tracesink mcp``: the MCP server over stdio, for a coding agent that starts it (docs/agents.md).

It reads a running tracesink over HTTP (``--url`` / ``TRACESINK_URL``, the read token from
``TRACESINK_READ_TOKEN``) through the terminal commands' client. stdout carries the protocol
alone: every word for a person goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from tracesink.errors import TraceSinkError
from tracesink.terminal.arguments import add_url
from tracesink.terminal.client import ServerClient

MISSING = (
    "the MCP server needs the mcp package: pip install 'tracesink[mcp]' "
    "(or pipx install 'tracesink[mcp]')"
)


def add(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "mcp", help="serve the MCP tools over stdio to a coding agent (reads a running tracesink)"
    )
    add_url(parser)


def run(args: argparse.Namespace) -> int:
    try:
        import anyio

        from tracesink.agents.http_reader import HttpReader
        from tracesink.agents.server import build_server
    except ImportError as exc:  # the extra is not installed
        raise TraceSinkError(f"{MISSING} ({exc})") from None
    client = ServerClient.from_environment(args.url)

    async def serve() -> None:
        reader = HttpReader(client)
        try:
            await build_server(reader).run_stdio_async()
        finally:
            await reader.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve)
    return 0
