"""``/mcp``: the agents' tools (``agents/``) served by the service over streamable HTTP.

Guarded exactly like the read routes (the read guard runs first: the read token when one is
set, loopback only when none is), then handed to the ``mcp`` SDK's own ASGI app. That app runs
STATELESS with JSON responses: no session lives in this process between requests, so any
instance, or any worker behind a load balancer, answers any request. The SDK's DNS-rebinding
protection stays on: the Host (and Origin) must be a loopback one or one listed in
``TRACESINK_MCP_ALLOWED_HOSTS``.

The SDK is an extra (``tracesink[mcp]``): without it ``/mcp`` answers 501 saying how to add it,
and nothing of it is imported. Its session manager needs a task group for the service's whole
life, entered and left in one task: a task of its own, started by the first ``/mcp`` request
and ended at shutdown (whichever task that runs in: a test starts an app in one task and stops
it in another).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tracesink.app.http import Receive, Scope, Send, error_response
from tracesink.app.state import AppState
from tracesink.config import Settings
from tracesink.scope_keys import STOP_ON_SHUTDOWN

MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MISSING = "/mcp needs the mcp package on the server: pip install 'tracesink[mcp]'"


def allowed_hosts(settings: Settings) -> tuple[list[str], list[str]]:
    """The Host values and the Origins the SDK lets in: loopback (any port), then the listed."""
    hosts = [f"{host}:*" for host in LOOPBACK_HOSTS] + list(LOOPBACK_HOSTS)
    hosts += list(settings.mcp_allowed_hosts)
    origins = [f"{scheme}://{host}" for host in hosts for scheme in ("http", "https")]
    return hosts, origins


class McpMount:
    """Built at the first ``/mcp`` request, not at start-up: importing the SDK takes ~0.8 s, which
    a service nobody points an agent at should not pay (nor every test that starts one)."""

    def __init__(
        self, settings: Settings, state: Callable[[], AppState], clock: Callable[[], float]
    ) -> None:
        self._settings = settings
        self._state = state
        self._clock = clock
        self._asgi: Any = None  # the SDK's Starlette app, once built
        self._missing = False  # the extra is not installed
        self._holder: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._building = asyncio.Lock()
        # Set by the server when it stops (STOP_ON_SHUTDOWN, as for a live stream): a
        # wait_for_entries in flight answers at once instead of holding the shutdown up.
        self._server_stopping = asyncio.Event()

    async def _build(self) -> None:
        try:
            from mcp.server.transport_security import TransportSecuritySettings

            from tracesink.agents.server import build_server
            from tracesink.app.mcp_reader import AppReader
        except ImportError:
            self._missing = True
            return
        reader = AppReader(self._state, self._server_stopping)
        server = build_server(reader, self._clock)
        hosts, origins = allowed_hosts(self._settings)
        asgi = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=hosts,
                allowed_origins=origins,
            ),
        )
        running = asyncio.Event()
        self._stopping = asyncio.Event()

        async def hold() -> None:
            async with server.session_manager.run():
                running.set()
                await self._stopping.wait()

        self._holder = asyncio.create_task(hold(), name="tracesink-mcp-sessions")
        started = asyncio.create_task(running.wait())
        await asyncio.wait((self._holder, started), return_when=asyncio.FIRST_COMPLETED)
        if not running.is_set():
            started.cancel()
            self._holder.result()  # raises what stopped it
        self._asgi = asgi

    async def stop(self) -> None:
        """End the session manager's task (the service is stopping)."""
        if self._holder is not None:
            self._stopping.set()
            await self._holder
        self._holder, self._asgi = None, None
        self._server_stopping = asyncio.Event()  # a fresh one for the next run (tests restart)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            # Stateless: no server-initiated messages, so no GET stream to open (the spec's
            # answer is 405), and no session to DELETE. A GET held open would also hold up a
            # graceful shutdown.
            message = f"{scope['method']} is not allowed on {MCP_PATH}; use POST (MCP, stateless)"
            await error_response(405, message, "method", [(b"allow", b"POST")]).send(send)
            return
        scope[STOP_ON_SHUTDOWN] = self._server_stopping.set
        if self._asgi is None and not self._missing:
            async with self._building:
                if self._asgi is None and not self._missing:
                    await self._build()
        if self._asgi is None:
            await error_response(501, MISSING, "path").send(send)
            return
        await self._asgi(scope, receive, send)
