"""One socket write per answer: a response's head held back until its body, then both sent together.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and the body on ``http.response.body``: two ``send`` system calls and,
on the wire, two segments for every ingest answer. Profiled under workload (a) (BENCHMARKS.md,
issue 10), the first write alone was ~12 % of the server's CPU and the second ~5 %. This
transport, given to each request's cycle, holds the head of a response with a
``Content-Length`` and writes it with the body in one ``writelines`` (one ``writev``).

The head is also where a connection learns it must close: when the route answered before the
request's body had all arrived, the head says ``Connection: close`` (see ``_closing``).

Only such a response is held: its body write always follows (an empty body is still written),
so nothing waits. A streamed (chunked) response, the answer to ``HEAD`` (no body is ever
written) and ``100 Continue`` go out at once, as before. If the app fails between head and
body, uvicorn closes the connection, as it would have after a lone head.

The transport refers to its cycle weakly: the cycle refers to the transport, and a strong
reference back would make every request a reference cycle, freed only by the cyclic garbage
collector (measured: about ten objects a request, and under workload (a) a collection of
~39,000 of them every ~0.2 s, each a 20-30 ms pause: ~10 % of the server's time and its p99).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle


class HeadJoiningTransport(asyncio.Transport):
    """The connection's transport as one request's cycle sees it."""

    __slots__ = ("_cycle", "_head_seen", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self._transport = transport
        self._cycle = weakref.ref(cycle)
        self._head_seen = False
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
            return
        cycle = self._cycle()
        if not self._head_seen and cycle is not None and cycle.response_started:
            # The first write once the response has started is its head; uvicorn has just
            # parsed its headers, so chunked_encoding is False exactly when a length was given.
            self._head_seen = True
            if cycle.more_body and cycle.keep_alive:
                data = _closing(data, cycle)
            if cycle.chunked_encoding is False and cycle.scope["method"] != "HEAD":
                self._held = bytes(data)
                return
        self._transport.write(data)

    def close(self) -> None:
        self._held = None
        cycle = self._cycle()
        if cycle is not None and cycle.response_complete and cycle.more_body:
            # Answered before its body had all arrived: the protocol closes with a linger, so that
            # the body's rest, still coming, does not reset the connection under the answer.
            try:
                linger = getattr(self._transport.get_protocol(), "close_unread", None)
            except NotImplementedError:  # a transport without a protocol (a test's)
                linger = None
            if callable(linger):
                linger()
                return
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


def _closing(head: bytes | bytearray | memoryview, cycle: RequestResponseCycle) -> bytes:
    """``head`` saying ``Connection: close``, the cycle closing the connection after its answer.

    The request's body has not all arrived (the route answered without reading it: a 404, a
    401, a 413, ``GET /health`` with a body): the rest would be parsed as the next request, and
    any byte of it cancels uvicorn's keep-alive timer, so such a connection lived for ever (1,008
    of them kept ``/health`` failing). Closing after the answer is what mature servers do.
    """
    cycle.keep_alive = False
    return bytes(head[:-2]) + b"connection: close\r\n\r\n"
