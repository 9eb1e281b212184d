"""The listening sockets of ``tracesink serve``: one for one process; for ``--workers N``, one
per worker on the same port with ``SO_REUSEPORT``, the port held by the parent meanwhile.

Why a socket per worker (measured, BENCHMARKS.md): with one socket shared by forked workers,
each worker's event loop accepts every connection waiting when it wakes (asyncio accepts up to
the backlog per wake-up), so the first worker to wake takes a burst of keep-alive connections
and keeps them: 64 wrk connections split about 5 to 1, and two workers served hardly more than
one. With ``SO_REUSEPORT`` the kernel spreads new connections over the workers' sockets by a
hash of their addresses. What it costs: connections waiting in a worker's queue when that worker
dies are reset (never answered, so nothing acknowledged is lost; the client retries).

The parent takes the port before any worker exists, so a taken port is still the one thing
said at start: first with a plain bind (which fails if any socket, ``SO_REUSEPORT`` or not, has
the port, such as another instance's workers), then with a bound, never-listening
``SO_REUSEPORT`` socket it keeps until it exits. That socket receives no connection (only
listening sockets do), and holds the port while workers restart, so no other program (nor
another instance, refused by the plain bind) can take it in between.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from typing import Any

from tracesink.config import Settings
from tracesink.errors import TraceSinkError


def listen(settings: Settings) -> socket.socket:
    """The listening socket; TraceSinkError saying why when the address cannot be had."""
    family, address = _address(settings)
    with _refusal(settings):
        return socket.create_server(address, family=family)


def hold_port(settings: Settings) -> socket.socket:
    """The parent's hold on the port for its workers (bound, not listening); TraceSinkError
    saying why when the port is taken, by anything, another instance's workers included."""
    family, address = _address(settings)
    with _refusal(settings):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as create_server does
            probe.bind(address)
        hold = socket.socket(family, socket.SOCK_STREAM)
        try:
            hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            hold.bind(address)
        except OSError:
            hold.close()
            raise
        return hold


def worker_listener(settings: Settings) -> socket.socket:
    """A worker's own listening socket on the port its parent holds."""
    family, address = _address(settings)
    with _refusal(settings):
        return socket.create_server(address, family=family, reuse_port=True)


def _address(settings: Settings) -> tuple[socket.AddressFamily, Any]:
    try:
        family, _, _, _, address = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise TraceSinkError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
        ) from None
    return family, address


@contextlib.contextmanager
def _refusal(settings: Settings) -> Iterator[None]:
    """An OSError while binding becomes a TraceSinkError naming the address and, for a taken
    port, what to do."""
    try:
        yield
    except OSError as exc:
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise TraceSinkError(
            f"cannot listen on {settings.host}:{settings.port}: {reason} "
            f"(choose another with {settings.name_of('port')})"
        ) from None
