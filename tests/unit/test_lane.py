"""The lane (server/lane.py): a complete ingest request is answered past the ASGI exchange, with
the bytes the ASGI way would have written; anything else goes the ASGI way as before."""

from __future__ import annotations

import asyncio
import gc
import re
from collections import Counter
from typing import Any

import pytest
import uvicorn

from tests.unit.test_joined_writes import RecordingTransport, finish
from tests.unit.test_joined_writes import connected as connected_to
from tracesink.app.inflight import InFlightLimit
from tracesink.server.protocol import guarded_protocol

BODY = b'{"trace_id":"lane-1","message":"hello","system":"manual"}'
HEAD = (
    b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(BODY)}\r\n".encode()
)
POST = HEAD + b"\r\n" + BODY


class Counted:
    """The app, counting which way each request came: ASGI (``__call__``) or the lane."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lane_paths = app.lane_paths
        self.asgi = self.lane = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.asgi += 1
        await self.app(scope, receive, send)

    async def answer_complete(self, scope: Any, body: bytes) -> Any:
        self.lane += 1
        return await self.app.answer_complete(scope, body)


def connected(app: Any) -> tuple[Any, RecordingTransport]:
    """A connection to a server as ``tracesink serve`` configures it: no proxy-headers wrapper
    around the app (run.py), so the protocol sees the app's lane."""
    config = uvicorn.Config(app, ws="none", log_level="warning", proxy_headers=False)
    return connected_to(app, (config, guarded_protocol(32 * 1024, 10.0, 60.0)))


def comparable(answer: bytes) -> bytes:
    """An answer without what differs from one request to the next (time, id, counts)."""
    answer = re.sub(rb"date: [^\r]*", b"date: -", answer)
    answer = re.sub(rb'"id":"[0-9a-f]+"', b'"id":"-"', answer)
    return re.sub(rb"(r=|t=|remaining_quota\":)\d+", rb"\g<1>0", answer)


async def test_a_complete_post_is_answered_as_the_asgi_way_answers_it(make_app: Any) -> None:
    """Head and body in one read: the lane answers, in one write; the same request with its body
    in a second read goes the ASGI way; both answers are the same bytes (but time and counts)."""
    app = Counted((await make_app()).app)
    protocol, whole = connected(app)
    protocol.data_received(POST)
    await finish_tasks(protocol)
    assert not whole.closed  # kept alive for the next request
    protocol.connection_lost(None)
    assert (app.lane, app.asgi) == (1, 0)

    protocol, split = connected(app)
    protocol.data_received(HEAD + b"\r\n")
    protocol.data_received(BODY)
    await finish(protocol)
    assert (app.lane, app.asgi) == (1, 1)

    assert len(whole.writes) == 1
    assert whole.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"success":true' in whole.writes[0]
    assert comparable(whole.writes[0]) == comparable(b"".join(split.writes))


async def test_connection_close_asked_by_client_or_app_is_written_once(make_app: Any) -> None:
    """A client's `Connection: close`, and the app's (a 413 for a body over the limit, read
    whole), end the connection after the answer, which says so once."""
    app = Counted((await make_app(max_body_bytes=10)).app)
    for request, status in [
        (HEAD + b"connection: close\r\n\r\n" + BODY, b"413"),
        (HEAD.replace(b"/log", b"/logs") + b"connection: close\r\n\r\n[" + BODY + b"]", b"413"),
    ]:
        protocol, transport = connected(app)
        protocol.data_received(request)
        await finish(protocol)
        answer = b"".join(transport.writes)
        assert answer.startswith(b"HTTP/1.1 " + status)
        assert answer.count(b"connection: close") == 1
        assert transport.closed
    assert app.lane == 2

    app = Counted((await make_app()).app)
    protocol, transport = connected(app)
    protocol.data_received(HEAD + b"connection: close\r\n\r\n" + BODY)
    await finish(protocol)
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK")
    assert transport.writes[0].count(b"connection: close") == 1
    assert transport.closed


async def test_pipelined_requests_are_answered_in_order(make_app: Any) -> None:
    """Three requests in one read (a lane one, a read, a lane one): three answers, in order; the
    two behind an answer in progress are queued by uvicorn, and go the ASGI way."""
    app = Counted((await make_app()).app)
    protocol, transport = connected(app)
    read = b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n"
    protocol.data_received(POST + read + POST.replace(b"lane-1", b"lane-2"))
    while len(transport.writes) < 3:
        await finish_tasks(protocol)
    answers = transport.writes
    assert [a[:15] for a in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert b"lane-1" in answers[0]
    assert b'"id"' not in answers[1]
    assert b"lane-2" in answers[2]
    assert (app.lane, app.asgi) == (1, 2)
    protocol.connection_lost(None)


async def finish_tasks(protocol: Any) -> None:
    await asyncio.gather(*protocol.tasks)
    await asyncio.sleep(0)


async def test_a_failing_app_answers_500_and_closes(
    make_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception out of the app (its own errors become answers; this is the last line) is
    logged and answered 500, and the connection ends, as uvicorn's ASGI way does."""
    app = Counted((await make_app()).app)

    async def broken(scope: Any, body: bytes) -> Any:
        raise RuntimeError("boom")

    app.answer_complete = broken  # type: ignore[method-assign]
    protocol, transport = connected(app)
    protocol.data_received(POST)
    await finish(protocol)
    assert transport.writes[0].startswith(b"HTTP/1.1 500 Internal Server Error")
    assert transport.writes[0].endswith(b"\r\n\r\nInternal Server Error")
    assert transport.closed
    assert "RuntimeError: boom" in capsys.readouterr().err


async def test_a_header_value_with_a_line_break_is_never_written(make_app: Any) -> None:
    """The lane keeps the rule uvicorn's send applies: no control character in a header value."""
    app = Counted((await make_app()).app)

    async def splitting(scope: Any, body: bytes) -> Any:
        return 200, [(b"x-echo", b"a\r\nset-cookie: x=1"), (b"content-length", b"2")], b"{}"

    app.answer_complete = splitting  # type: ignore[method-assign]
    protocol, transport = connected(app)
    protocol.data_received(POST)
    await finish(protocol)
    assert transport.writes[0].startswith(b"HTTP/1.1 500")
    assert b"set-cookie" not in transport.writes[0]


async def test_the_lane_counts_against_the_bound_on_requests_in_flight(make_app: Any) -> None:
    """TRACESINK_MAX_CONCURRENCY holds for the lane: past it, 503 with Retry-After."""
    limited = InFlightLimit((await make_app()).app, 0)
    protocol, transport = connected(limited)
    protocol.data_received(POST)
    await finish(protocol)
    assert transport.writes[0].startswith(b"HTTP/1.1 503")
    assert b"TRACESINK_MAX_CONCURRENCY" in transport.writes[0]
    assert b"retry-after: 1" in transport.writes[0]


async def test_only_complete_posts_to_ingest_paths_take_the_lane(make_app: Any) -> None:
    """A read, a POST elsewhere and an ingest POST whose body is still coming go the ASGI way."""
    app = Counted((await make_app()).app)
    for request in [
        b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n",
        POST.replace(b"/log", b"/ingest/convex"),
        HEAD + b"\r\n" + BODY[:10],
    ]:
        protocol, transport = connected(app)
        protocol.data_received(request)
        if request.endswith(BODY[:10]):
            protocol.data_received(BODY[10:])
        await finish(protocol)
        assert transport.writes
    assert (app.lane, app.asgi) == (0, 3)


async def test_lane_requests_make_no_cyclic_garbage(make_app: Any) -> None:
    """Through the lane, as through the ASGI way (test_joined_writes.py): a burst of ingest
    requests, good and bad, leaves nothing for the cyclic collector, so it never pauses the
    server (the lane's cycle refers to the protocol only until its answer is written)."""
    app = Counted((await make_app()).app)
    batch = b"[" + BODY + b"," + BODY.replace(b"hello", b"again") + b"]"
    requests = [
        POST,
        HEAD.replace(b"/log ", b"/logs ").replace(b"%d" % len(BODY), b"%d" % len(batch))
        + b"\r\n"
        + batch,
        b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\n\r\n{x}",  # a 400
    ]
    config = uvicorn.Config(app, ws="none", log_config=None, proxy_headers=False)
    server = (config, guarded_protocol(32 * 1024, 10.0, 60.0))

    async def answer(request: bytes) -> bytes:
        protocol, transport = connected_to(app, server)
        protocol.data_received(request)
        await finish(protocol)
        return b"".join(transport.writes)

    for request in requests:  # warm up: first-use caches are not garbage
        await answer(request)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            answers = [await answer(request) for request in requests]
            assert [a[9:12] for a in answers] == [b"200", b"200", b"400"]
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert app.lane == 63  # every one of them took the lane
    kinds = Counter(type(o).__qualname__ for o in garbage)
    assert not garbage, f"cyclic garbage: {kinds.most_common(8)}"
