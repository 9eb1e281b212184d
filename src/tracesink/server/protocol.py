"""uvicorn's httptools protocol with what it lacks: a cap on a request's head and a deadline for it.

httptools (llhttp) buffers a request line and headers for as long and as large as a client likes,
and uvicorn's only timer, keep-alive, is cancelled by the first byte of a new request: one byte a
second keeps a connection (and its buffer) for ever, and a 200 KB header is read whole. Here every
request head must arrive within ``head_timeout_s`` (else 408, or a silent close when not a byte of
it came) and hold at most ``max_head_bytes`` (else 431); either way the connection closes.

Why a subclass rather than another server: uvicorn's h11 protocol has a size cap
(``h11_max_incomplete_event_size``) but no head deadline either, and parses in Python; measured
with ``bench/head_guard.py`` (wrk, workload a, 5 runs, shared 2-core machine) it served 0.43x the
requests per second of httptools at 2.1x the CPU per request. The subclass keeps the C parser
and adds, per request, one ``bytes.find`` over the head's bytes and one deadline armed and
disarmed (dict operations): in-process (``--micro``) within +-5 % of plain httptools, the run's
noise; end to end under heavy shared load 0.90x the requests per second (median of 5, runs
spread +-40 %).

No connection outlives a deadline, whatever the client sends or fails to read: a head is due
within ``head_timeout_s``, a body the route reads within the app's read timeout (408), a body it
does not read ends the connection after the answer (``close_unread``: a linger of at most
``head_timeout_s``), an idle keep-alive connection closes after ``head_timeout_s`` too, by the
same deadline (``run.py`` says why not sooner), and an answer the client stops reading is
dropped once it has stalled for ``send_timeout_s`` (``WriteDeadlines``).

An idle connection is only closed when it is idle in fact. After the loop was busy (a burst of
heavy reads, a starved CPU), a timer can run before the loop has read what a client sent
meanwhile: closing then drops a request that did arrive (the client sees a reset or "server
disconnected without a response": found at 300 concurrent ``/traces`` reads, where keep-alive
closes met 159-byte requests still in the kernel). So the closer of an idle connection, the head
deadline, first looks at the socket (``_bytes_waiting``): a request waiting there is read at the
next poll, and the deadline still bounds the connection. uvicorn's own keep-alive timer is not
armed (``on_response_complete``): it closed what the head deadline closes, at the same time,
for a timer made and cancelled per request.

Deadlines use one sweeper, as body deadlines do (``deadlines.py``): every head has the same
timeout, so an insertion-ordered dict is sorted by deadline and a timer that runs only while
heads are awaited closes the overdue ones from its front.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, ClassVar

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from tracesink.scope_keys import ARRIVED_MS, STOP_ON_SHUTDOWN
from tracesink.server.joined_writes import HeadJoiningTransport
from tracesink.server.lane import LaneCycle, serve_complete

SWEEP_EVERY_S = 0.25
# A sweep this late means the loop stalled (a long callback, or the process starved of CPU).
LATE_SWEEP_S = 1.0
HEAD_END = b"\r\n\r\n"


class HeadDeadlines:
    """When each awaited request head is due; one timer for all of them."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._due: dict[GuardedHttpToolsProtocol, float] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._planned = 0.0  # when the pending sweep was meant to run

    def arm(self, protocol: GuardedHttpToolsProtocol, loop: asyncio.AbstractEventLoop) -> None:
        self._due.pop(protocol, None)  # re-inserted at the back: the dict stays in deadline order
        self._due[protocol] = loop.time() + self.timeout_s
        if self._sweeper is None:
            self._schedule(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._planned = loop.time() + SWEEP_EVERY_S
        self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep, loop)

    def disarm(self, protocol: GuardedHttpToolsProtocol) -> None:
        self._due.pop(protocol, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if now - self._planned > LATE_SWEEP_S:
            # After a stall, what the clients sent meanwhile may not be read yet, so a head
            # half read would look overdue. Judge nobody now; the next sweep comes after a poll.
            self._schedule(loop)
            return
        overdue = []
        for protocol, due in self._due.items():
            if due > now:
                break
            overdue.append(protocol)
        try:
            for protocol in overdue:
                del self._due[protocol]
                self._overdue(protocol, loop)
        finally:  # one failing connection must not stop the sweeps for all the others
            self._sweeper = None
            if self._due:
                self._schedule(loop)

    def _overdue(self, protocol: GuardedHttpToolsProtocol, loop: asyncio.AbstractEventLoop) -> None:
        protocol.head_overdue(loop)


class WriteDeadlines(HeadDeadlines):
    """When each stalled answer must have moved on: a client that stops reading fills the
    socket's buffers, then uvicorn's, and the answer's task waits for room for ever (a live
    stream, a big ``/traces``, a thousand pipelined requests never read). Armed when the
    transport pauses writing, disarmed when it resumes: the client must take some of the
    answer within the timeout, however slowly."""

    def _overdue(self, protocol: GuardedHttpToolsProtocol, loop: asyncio.AbstractEventLoop) -> None:
        protocol.write_overdue()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Set ``max_head_bytes`` and ``deadlines`` with ``guarded_protocol``, not by hand."""

    max_head_bytes: ClassVar[int] = 32 * 1024
    deadlines: ClassVar[HeadDeadlines] = HeadDeadlines(10.0)
    write_deadlines: ClassVar[HeadDeadlines] = WriteDeadlines(10.0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0  # bytes of the awaited head received so far
        self._lingering = False  # answered and half-closed: what still comes is discarded
        # The lane (lane.py): the app's paths a complete POST takes past the ASGI exchange.
        self._lane_paths: frozenset[str] = getattr(self.app, "lane_paths", frozenset())
        self._lane_waiting: LaneCycle | None = None  # a lane request's head came; its body?

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.deadlines.arm(self, self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self.deadlines.disarm(self)
        self.write_deadlines.disarm(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a body nobody reads
        if self._awaiting_head:
            # Bytes up to the blank line that ends the head are head; after it, body. A head
            # split across reads is counted whole; the part of a pipelined request that shares a
            # read with the one before it is not (at most one read's worth past the cap).
            end = data.find(HEAD_END)
            self._head_bytes += len(data) if end < 0 else end + len(HEAD_END)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(
                    431,
                    f"the request head is larger than {self.max_head_bytes} bytes "
                    "(TRACESINK_MAX_HEADER_BYTES)",
                    "headers",
                )
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket here (ws="none"): the app answered it as plain HTTP
        except httptools.HttpParserError:
            # uvicorn writes its 400 at once, over any earlier pipelined answer still being
            # written, which that answer then loses: here the answers keep their order.
            self._lane_to_asgi()
            self._refuse(400, "the request is not valid HTTP/1.1", "request")
            return
        self._lane_to_asgi()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """uvicorn's, the answer's head joined to its body (joined_writes.py)."""
        if cycle.transport is self.transport:
            cycle.transport = HeadJoiningTransport(self.transport, cycle)
        super()._start_asgi_task(cycle, app)

    def _lane_cycle(self) -> LaneCycle | None:
        """The cycle of a request that may take the lane (an ingest path, ``POST``, nothing
        being answered before it on this connection), else None (uvicorn's way)."""
        parser = self.parser
        if parser.get_method() != b"POST" or parser.should_upgrade():
            return None
        if self.cycle is not None and not self.cycle.response_complete:
            return None  # pipelined behind an answer in progress: uvicorn queues it
        url = httptools.parse_url(self.url)
        path = url.path.decode("ascii")  # an ingest path has no escapes to undo
        if path not in self._lane_paths:
            return None
        scope = self.scope
        version = parser.get_http_version()
        scope["method"] = "POST"
        if version != "1.1":
            scope["http_version"] = version
        scope["path"] = path
        scope["raw_path"] = url.path
        scope["query_string"] = url.query or b""
        keep_alive = version != "1.0" and parser.should_keep_alive()
        default_headers = self.server_state.default_headers
        return LaneCycle(
            scope, self.transport, self.flow, keep_alive, default_headers, self.on_response_complete
        )

    def _lane_to_asgi(self) -> None:
        """A lane request whose body did not all come in the read its head came in goes the
        ASGI way, where the body deadline and the size cap apply while it arrives."""
        waiting, self._lane_waiting = self._lane_waiting, None
        if waiting is not None:  # (self.cycle: a lane request's body ends its message)
            self.cycle = cycle = waiting.for_asgi(self)
            self._start_asgi_task(cycle, self.app)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # When the request began to arrive: the receive time a sender's clock is measured
        # against (ingest/clock.py), before any time spent queued behind other work here.
        self.scope[ARRIVED_MS] = time.time_ns() // 1_000_000  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self.deadlines.disarm(self)
        if self._lane_paths:
            lane = self._lane_cycle()
            if lane is not None:
                # Answered once its body is complete; to uvicorn's code it is the cycle.
                self.cycle = self._lane_waiting = lane  # type: ignore[assignment]
                return
        super().on_headers_complete()
        if self.parser.should_upgrade():
            # Answered as plain HTTP, as RFC 9110 allows (ws="none"); the parser reads nothing
            # after an upgrade request, so the connection ends with the answer.
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Whatever comes next on this connection is the next request's head (counted from now);
        # its deadline starts when this request's response is complete (on_response_complete):
        # one deadline per request, not two, on the hot path.
        self._awaiting_head = True
        lane = self._lane_waiting  # (the cycle: nothing is read past a message's end before it)
        if lane is not None:
            self._lane_waiting = None
            task = self.loop.create_task(serve_complete(lane, self.app, self.logger))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

    def on_response_complete(self) -> None:
        """uvicorn's, but the head deadline in place of its keep-alive timer: the same time
        (run.py), the same close of an idle connection, and no timer per request."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # the next request has come already: answer it
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        if self._awaiting_head:
            self.deadlines.arm(self, self.loop)

    def close_unread(self) -> None:
        """Close a connection whose request was answered before its body had all arrived (the
        answer says ``Connection: close``, ``joined_writes._closing``).

        Closed at once, a socket with the body's rest still arriving answers it with a reset,
        which can destroy the answer before the client reads it (a 413 seen as "connection
        reset"). So, as Apache and Go do, close only our side (FIN after the answer), discard
        what still comes, and close when the client does, or when the head deadline passes:
        no byte a client sends keeps it longer."""
        if self.transport.is_closing():
            return
        self._lingering = True
        self._awaiting_head = False
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()
            return
        self.deadlines.arm(self, self.loop)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.write_deadlines.arm(self, self.loop)

    def resume_writing(self) -> None:
        super().resume_writing()
        self.write_deadlines.disarm(self)

    def write_overdue(self) -> None:
        """The client has taken nothing of the answer for the whole timeout: drop the
        connection (a close would wait for the buffer to drain, which it never will)."""
        if self.flow.write_paused:
            self.transport.abort()

    def _bytes_waiting(self) -> bool:
        """Whether the client has sent bytes this process has not read yet (they are still in
        the kernel's buffer: the loop has not polled this socket since). One peek on a
        duplicate of the descriptor, paid only when an idle connection is about to close."""
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            with socket.fromfd(sock.fileno(), sock.family, sock.type) as probe:
                # The descriptor is non-blocking already (the loop's); DONTWAIT says so twice.
                return bool(probe.recv(1, socket.MSG_PEEK | getattr(socket, "MSG_DONTWAIT", 0)))
        except OSError:  # nothing waiting (BlockingIOError), or the connection is gone
            return False
        except AttributeError:  # no socket.fromfd on this platform (Windows): closed as before
            return False

    def shutdown(self) -> None:
        """The server stops: besides uvicorn's (close when idle, else after this response), end a
        live stream now, which would otherwise hold the shutdown for its whole grace period."""
        super().shutdown()
        if self.cycle is not None and not self.cycle.response_complete:
            stop = self.cycle.scope.get(STOP_ON_SHUTDOWN)
            if callable(stop):
                stop()

    def head_overdue(self, loop: asyncio.AbstractEventLoop) -> None:
        """The awaited head did not arrive in time: 408 if some of it came, else just close."""
        if self.transport.is_closing():
            return
        if self._lingering:
            self.transport.close()  # the client's side never closed: the linger is over
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.deadlines.arm(self, loop)  # a request is still being answered: wait for it
            return
        if self._head_bytes == 0:
            if self._bytes_waiting():
                self.deadlines.arm(self, loop)  # a head came but is not read yet: judge it then
                return
            self.transport.close()  # an idle connection: nothing to answer
            return
        timeout_s = self.deadlines.timeout_s
        self._refuse(
            408,
            f"the request head did not arrive within {timeout_s:g} s (TRACESINK_HEADER_TIMEOUT_S)",
            "headers",
        )

    def _refuse(self, status: int, message: str, field: str) -> None:
        """Answer ``status`` and close, unless an earlier request is still being answered
        (pipelining; ``self.cycle`` is the latest): then close after its answer, without this
        one, so that answers never interleave."""
        self.deadlines.disarm(self)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            self.transport.pause_reading()
            return
        body = msgspec.json.encode({"success": False, "error": message, "field": field})
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()


def guarded_protocol(
    max_head_bytes: int, head_timeout_s: float, send_timeout_s: float
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class for one server: its cap and its deadlines."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "deadlines": HeadDeadlines(head_timeout_s),
            "write_deadlines": WriteDeadlines(send_timeout_s),
        },
    )
