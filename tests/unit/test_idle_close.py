"""An idle connection is closed only when it is idle in fact: a request that came while the loop
was busy, and still waits unread in the kernel, is answered, not dropped.

The closer of an idle connection is a timer, the head deadline (uvicorn's keep-alive timer, which
did the same, is not armed). Under load it can run before the loop has read what the client sent
meanwhile: 300 concurrent ``/traces`` reads on a starved CPU saw keep-alive closes meet whole
requests still in the kernel, and the clients a reset (tests/integration/test_read_capacity.py).
When the timer runs depends on the scheduler, so here the server's own loop calls the closer at
the moment the race makes it run: after the request arrived, before the loop read it. Real
uvicorn, real uvloop, real sockets.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import uvicorn

from tracesink.server.protocol import GuardedHttpToolsProtocol, guarded_protocol

REQUEST = b"GET /answer HTTP/1.1\r\nHost: test\r\n\r\n"


class Recorded(guarded_protocol(32 * 1024, 10.0, 60.0)):  # type: ignore[misc]
    """The guarded protocol, each connection's instance kept in the order the server made them."""

    made: ClassVar[list[GuardedHttpToolsProtocol]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made.append(self)


class Race:
    """The app: ``/stall`` blocks the loop until the test has sent its requests, then runs the
    given closers, as timers that fire before the next poll would."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self.sent = threading.Event()
        self.closers: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/stall":
            self.stalled.set()
            self.sent.wait(5)  # the loop is blocked: what the client sends stays unread
            time.sleep(0.05)  # noqa: ASYNC251  # the stall is the point; loopback delivery
            for close in self.closers:
                close()
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def server() -> Iterator[tuple[Any, Race]]:
    """A running server; its value: a function that opens a connection to it (closed after)."""
    Recorded.made = []
    race = Race()
    config = uvicorn.Config(race, http=Recorded, loop="uvloop", log_level="warning")
    running = uvicorn.Server(config)
    listener = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = listener.getsockname()[1]
    opened: list[socket.socket] = []

    def connect() -> socket.socket:
        opened.append(socket.create_connection(("127.0.0.1", port)))
        return opened[-1]

    yield connect, race
    for connection in opened:
        connection.close()
    running.should_exit = True
    thread.join(10)


def answer(connection: socket.socket) -> bytes:
    connection.settimeout(5)
    try:
        return connection.recv(1000)
    except ConnectionResetError:
        return b"<reset>"


def test_an_idle_connection_expiry_leaves_an_unread_request_to_be_answered(
    server: tuple[Any, Race],
) -> None:
    connect, race = server
    idle = connect()
    idle.sendall(REQUEST)
    assert answer(idle).startswith(b"HTTP/1.1 200")  # now idle, its head deadline armed
    protocol = Recorded.made[0]
    assert protocol.timeout_keep_alive_task is None  # the deadline closes it, not uvicorn's timer
    race.closers = [lambda: protocol.head_overdue(protocol.loop)]
    staller = connect()
    staller.sendall(REQUEST.replace(b"/answer", b"/stall"))
    assert race.stalled.wait(5)
    idle.sendall(REQUEST)  # the next request, while the loop is busy
    race.sent.set()
    assert answer(idle).startswith(b"HTTP/1.1 200")
    assert answer(staller).startswith(b"HTTP/1.1 200")


def test_a_head_deadline_leaves_an_unread_head_to_be_answered(server: tuple[Any, Race]) -> None:
    connect, race = server
    staller = connect()
    fresh = connect()
    time.sleep(0.2)  # both accepted: the fresh connection's head deadline is armed
    assert len(Recorded.made) == 2
    protocol = Recorded.made[1]
    race.closers = [lambda: protocol.head_overdue(protocol.loop)]
    staller.sendall(REQUEST.replace(b"/answer", b"/stall"))
    assert race.stalled.wait(5)
    fresh.sendall(REQUEST)  # its head, while the loop is busy
    race.sent.set()
    assert answer(fresh).startswith(b"HTTP/1.1 200")


def test_a_connection_with_nothing_waiting_is_still_closed(server: tuple[Any, Race]) -> None:
    """The guard is no loophole: an idle connection whose client sent nothing is closed."""
    connect, race = server
    staller = connect()
    silent = connect()
    time.sleep(0.2)
    protocol = Recorded.made[1]
    race.closers = [lambda: protocol.head_overdue(protocol.loop)]
    staller.sendall(REQUEST.replace(b"/answer", b"/stall"))
    assert race.stalled.wait(5)
    race.sent.set()
    assert answer(silent) == b""  # closed: end of stream, no answer
