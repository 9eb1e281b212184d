"""The lane: a complete ingest request answered past the ASGI exchange.

Under workload (a) (one small ``POST /log`` per request, BENCHMARKS.md "Issue 27") about a fifth
of the server's CPU (py-spy) went to the exchange around the app rather than to the app: uvicorn's
``RequestResponseCycle`` (its ``receive`` with an event per request, its ``send`` with two
messages, a regex per header, a state machine), the head-joining transport (one write per
answer), and the app's own ASGI wrappers. For a request whose head and body have all arrived
(the usual ingest request: one read), none of that does anything: the body is in hand and the
answer is whole. So the protocol (protocol.py) hands such a request of an ingest path to the
app's ``answer_complete`` and writes what it returns in one write, as ``send`` would have
written it: the same status line, the server's default headers (Date), the app's headers, and
``Connection: close`` when the connection ends.

Everything else about the request is as before: the app's ``answer_complete`` is its ``answer``,
the same function every request gets (CORS, the access guard, the route, its errors); the
request's cycle (``LaneCycle``) has what uvicorn's protocol reads of one, so pipelining,
disconnects, keep-alive, the head deadlines and a graceful shutdown see it as they see any
request; the task is in the server's set, so a shutdown waits for it. A request whose body has
not all arrived with its head goes the ASGI way (``LaneCycle.for_asgi``), where the body
deadline (408) and the size cap while reading (413) apply.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]  # status, headers (Content-Length among them), body
# What no header value may hold (uvicorn's rule, applied by its ``send``): a line break in a
# value would let a client's text start a header of its own.
_UNSAFE_VALUE = re.compile(b"[\x00-\x08\x0a-\x1f\x7f]")
_INTERNAL_ERROR = (
    500,
    [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")],
    b"Internal Server Error",
)


class _NoEvent:
    """A lane request's stand-in for its cycle's ``asyncio.Event``: nobody waits on it (the
    body is read whole), so what uvicorn's protocol signals to it goes nowhere."""

    __slots__ = ()

    def set(self) -> None:
        return None

    def clear(self) -> None:
        return None


NO_EVENT = _NoEvent()


class LaneCycle:
    """A request that may take the lane, as uvicorn's protocol and ``serve_complete`` see it:
    the fields of a ``RequestResponseCycle`` they read and write, and no event. Decided at the
    head, it spares uvicorn's general ``on_headers_complete`` and its cycle (a sixth of the
    HTTP side's instructions per ``POST /log``, callgrind). It becomes uvicorn's cycle
    (``for_asgi``) when its body does not all come in the read its head came in."""

    __slots__ = (
        "body",
        "default_headers",
        "disconnected",
        "flow",
        "keep_alive",
        "message_event",
        "more_body",
        "on_response",
        "response_complete",
        "response_started",
        "scope",
        "transport",
    )

    def __init__(
        self,
        scope: Any,
        transport: Any,
        flow: Any,
        keep_alive: bool,
        default_headers: Headers,
        on_response: Callable[[], None],
    ) -> None:
        self.scope = scope
        self.transport = transport
        self.flow = flow
        self.keep_alive = keep_alive
        self.default_headers = default_headers
        self.on_response = on_response
        self.body = b""
        self.more_body = True
        self.disconnected = False
        self.response_started = False
        self.response_complete = False
        self.message_event: Any = NO_EVENT

    def for_asgi(self, protocol: Any) -> RequestResponseCycle:
        """uvicorn's cycle for this request, with what has come of its body."""
        cycle = RequestResponseCycle(
            scope=self.scope,
            transport=self.transport,
            flow=self.flow,
            logger=protocol.logger,
            access_logger=protocol.access_logger,
            access_log=protocol.access_log,
            default_headers=self.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=protocol.expect_100_continue,
            keep_alive=self.keep_alive,
            on_response=self.on_response,
        )
        cycle.disconnected = self.disconnected
        if self.body:
            cycle.body += self.body
            cycle.message_event.set()
        return cycle


class LaneApp(Protocol):
    """What the app offers the lane: its paths (all ``POST``), and the answer to a complete
    request (None: nobody to answer)."""

    lane_paths: frozenset[str]

    async def answer_complete(
        self, scope: MutableMapping[str, Any], body: bytes
    ) -> Answer | None: ...


async def serve_complete(cycle: LaneCycle, app: LaneApp, logger: logging.Logger) -> None:
    """Answer ``cycle``'s request (its body complete) through ``app.answer_complete``."""
    try:
        try:
            answer = await app.answer_complete(cycle.scope, cycle.body)
            if answer is None:
                return  # nobody to answer (the app saw the client go)
            message = _message(cycle, answer)
        except Exception as exc:  # as uvicorn's run_asgi: logged, 500, the connection ends
            logger.error("Exception in ASGI application\n", exc_info=exc)
            cycle.keep_alive = False
            message = _message(cycle, _INTERNAL_ERROR)
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()  # the client is not reading: wait, as send does
        if cycle.disconnected:
            return
        cycle.response_started = True
        cycle.transport.write(message)
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            cycle.transport.close()
        cycle.on_response()
    finally:
        cycle.on_response = _nothing  # as run_asgi: the cycle holds no reference to the protocol


def _message(cycle: LaneCycle, answer: Answer) -> bytes:
    """The whole answer as ``send`` writes it: status line, the server's default headers, the
    app's, ``Connection: close`` once when the connection ends (the app may ask for it), body."""
    status, headers, body = answer
    parts = [STATUS_LINE[status]]
    for name, value in cycle.default_headers:
        parts += (name, b": ", value, b"\r\n")
    for name, value in headers:
        if name == b"connection" and b"close" in value.lower():
            cycle.keep_alive = False
            continue  # written once, below
        parts += (name, b": ", value, b"\r\n")
    # Every fourth part from the fourth is a value: one search over them all.
    if _UNSAFE_VALUE.search(b"".join(parts[3::4])):
        raise ValueError("Invalid HTTP header value.")
    if not cycle.keep_alive:
        parts.append(b"connection: close\r\n")
    parts += (b"\r\n", body)
    return b"".join(parts)


def _nothing() -> None:
    return None
