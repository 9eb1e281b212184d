"""The sockets of `serve --workers N`: the parent holds the port, each worker listens on its own
(SO_REUSEPORT), and a port anything else has is refused before a worker starts."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from tests.support.redis_server import free_port
from tracesink.config import Settings
from tracesink.errors import TraceSinkError
from tracesink.server.listener import hold_port, listen, worker_listener


def settings_on(port: int) -> Settings:
    return replace(Settings(), port=port, workers=2, store="redis://localhost:6379/0")


def test_workers_listen_on_the_port_their_parent_holds() -> None:
    """With the port held, two workers each get a listening socket on it, and a connection to
    the port reaches one of them; the held socket itself takes none (it never listens)."""
    settings = settings_on(free_port())
    with (
        hold_port(settings) as held,
        worker_listener(settings) as a,
        worker_listener(settings) as b,
    ):
        assert a.getsockname() == b.getsockname() == held.getsockname()
        with socket.create_connection(("127.0.0.1", settings.port), timeout=5):
            a.setblocking(False)
            b.setblocking(False)
            accepted = 0
            for listener in (a, b):
                try:
                    listener.accept()[0].close()
                    accepted += 1
                except BlockingIOError:
                    pass
            assert accepted == 1


@pytest.mark.parametrize("reuse_port", [False, True])
def test_a_taken_port_is_refused_even_to_another_instances_workers(reuse_port: bool) -> None:
    """A port another program listens on is refused, and so is one another instance's workers
    listen on with SO_REUSEPORT (joining them would split the traffic between two instances)."""
    with socket.socket() as taken:
        if reuse_port:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = settings_on(taken.getsockname()[1])
        with pytest.raises(TraceSinkError, match="the port is already in use"):
            hold_port(settings).close()
        with pytest.raises(TraceSinkError, match=r"choose another with TRACESINK_PORT"):
            listen(settings).close()


def test_an_unknown_host_is_named() -> None:
    """A host name that does not resolve is refused naming it."""
    settings = replace(settings_on(free_port()), host="no-such-host.invalid")
    with pytest.raises(TraceSinkError, match=r"cannot listen on no-such-host\.invalid"):
        hold_port(settings)
