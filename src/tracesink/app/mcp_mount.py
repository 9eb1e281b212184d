"""``/mcp``: the agents' tools (``agents/``) served by the service over streamable HTTP.

Guarded exactly like the read routes (the read guard runs first: the read token when one is
set, loopback only when none is), then handed to the ``mcp`` SDK's own ASGI app. That app runs
STATELESS with JSON responses: no session lives in this process between requests, so any
instance, or any worker behind a load balancer, answers any request. The SDK's DNS-rebinding
protection stays on: the Host (and Origin) must be a loopback one or one listed in
``TRACESINK_MCP_ALLOWED_HOSTS``.

The SDK is an extra (``tracesink[mcp]``): without it ``/mcp`` answers 501 saying how to add it,
and nothing of it is imported. Its session manager needs a task group for the service's whole
life: entered at start-up and left at shutdown, in the lifespan's one task.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tracesink.app.http import Receive, Request, Scope, Send, error_response
from tracesink.app.state import AppState
from tracesink.config import Settings

MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MISSING = "/mcp needs the mcp package on the server: pip install 'tracesink[mcp]'"
log = logging.getLogger("tracesink")


def allowed_hosts(settings: Settings) -> tuple[list[str], list[str]]:
    """The Host values and the Origins the SDK lets in: loopback (any port), then the listed."""
    hosts = [f"{host}:*" for host in LOOPBACK_HOSTS] + list(LOOPBACK_HOSTS)
    hosts += list(settings.mcp_allowed_hosts)
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return hosts, origins


class McpMount:
    def __init__(
        self, settings: Settings, state: Callable[[], AppState], clock: Callable[[], float]
    ) -> None:
        self._settings = settings
        self._state = state
        self._clock = clock
        self._asgi: Any = None  # the SDK's Starlette app, while running
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        try:
            from mcp.server.transport_security import TransportSecuritySettings

            from tracesink.agents.app_reader import AppReader
            from tracesink.agents.server import build_server
        except ImportError:
            return  # the extra is not installed: /mcp says so
        server = build_server(AppReader(self._state), self._clock)
        hosts, origins = allowed_hosts(self._settings)
        self._asgi = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=hosts,
                allowed_origins=origins,
            ),
        )
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(server.session_manager.run())

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._asgi = None, None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._asgi is None:
            await error_response(501, MISSING, "path").send(send)
            return
        await self._asgi(scope, receive, send)


def is_mcp(request: Request) -> bool:
    return request.path == MCP_PATH
