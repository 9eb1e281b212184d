"""The server protocol writes an answer with a length in one call, holds nothing else back, and
leaves no reference cycle behind a request."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from tracesink.app.http import Message, Receive, Scope, Send
from tracesink.server.protocol import guarded_protocol


class RecordingTransport(asyncio.Transport):
    """What the protocol hands the socket, one item per write call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.writes.append(b"".join(list_of_data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connected(
    app: Any, server: tuple[uvicorn.Config, type[Any]] | None = None
) -> tuple[Any, RecordingTransport]:
    """The server's protocol for ``app`` on a new connection, and that connection's transport;
    ``server``: the config and protocol class that connections of one server share."""
    config, protocol_class = server or (
        uvicorn.Config(app, ws="none", log_level="warning"),
        guarded_protocol(32 * 1024, 10.0, 60.0),
    )
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def finish(protocol: Any) -> None:
    await asyncio.gather(*protocol.tasks)
    protocol.connection_lost(None)


async def answer(
    app: Any, request: bytes, server: tuple[uvicorn.Config, type[Any]] | None = None
) -> RecordingTransport:
    """Feed one request to the server's protocol; the transport once the app has finished."""
    protocol, transport = connected(app, server)
    protocol.data_received(request)
    await finish(protocol)
    return transport


async def sized(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


POST = b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n{}"


async def test_an_answer_with_a_length_is_one_write() -> None:
    """Status line, headers and body go to the socket in one call (one send, not two)."""
    transport = await answer(sized, POST)
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert body == b"{}"


async def test_an_empty_body_still_releases_the_head() -> None:
    """A 204 with an empty body is answered at once, not held waiting for bytes."""

    async def empty(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    transport = await answer(empty, POST)
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 204")


async def test_the_answer_to_head_is_written_without_a_body() -> None:
    """HEAD gets its headers (no body write ever follows them, so they must not wait for one)."""
    transport = await answer(sized, b"HEAD /log HTTP/1.1\r\nhost: t\r\n\r\n")
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 200 OK")
    assert b"".join(transport.writes).endswith(b"\r\n\r\n")


async def test_a_streamed_answer_sends_its_head_at_once() -> None:
    """A stream (no length: chunked) shows its head before its first event exists."""
    seen_before_body: list[bytes] = []

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        seen_before_body.extend(transport.writes)
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connected(stream)
    protocol.data_received(b"GET /live HTTP/1.1\r\nhost: t\r\n\r\n")
    await finish(protocol)
    assert len(seen_before_body) == 1
    assert seen_before_body[0].startswith(b"HTTP/1.1 200 OK")
    assert b"transfer-encoding: chunked" in seen_before_body[0]


async def test_100_continue_is_not_held() -> None:
    """A client that waits for 100 Continue before sending its body gets it at once."""
    written: list[bytes] = []

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.ensure_future(receive())
        await asyncio.sleep(0)
        written.extend(transport.writes)
        task.cancel()
        message: Message = {"type": "http.response.start", "status": 200}
        message["headers"] = [(b"content-length", b"0")]
        await send(message)
        await send({"type": "http.response.body", "body": b""})

    protocol, transport = connected(reader)
    head = b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n"
    protocol.data_received(head)
    await finish(protocol)
    assert written == [b"HTTP/1.1 100 Continue\r\n\r\n"]


async def test_ingest_and_read_requests_make_no_cyclic_garbage(make_app: Any) -> None:
    """Through the server's protocol and the whole app (memory store): a burst of ingest and
    read requests leaves nothing for the cyclic collector, so it never pauses the server."""
    app = (await make_app()).app
    body = b'{"trace_id":"cycles","message":"hello","system":"manual"}'
    requests = [
        b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body,
        b"GET /logs/cycles HTTP/1.1\r\nhost: t\r\n\r\n",
        b"POST /log HTTP/1.1\r\nhost: t\r\ncontent-length: 3\r\n\r\n{x}",  # a 400
    ]
    # One config and protocol class, as one server has (each new config configures logging, and
    # each protocol class is a class: objects of their own, in cycles).
    server = (
        uvicorn.Config(app, ws="none", log_config=None),
        guarded_protocol(32 * 1024, 10.0, 60.0),
    )
    for request in requests:  # warm up: first-use caches are not garbage
        await answer(app, request, server)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            for request in requests:
                assert (await answer(app, request, server)).writes
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    kinds = Counter(type(o).__qualname__ for o in garbage)
    assert not garbage, f"cyclic garbage: {kinds.most_common(8)}"


async def test_an_answer_before_the_body_arrived_says_connection_close() -> None:
    """The route answers a request whose declared body has not all arrived: the head says
    `Connection: close` and the connection closes after it; a body that had all arrived (the
    route not reading it either) leaves the connection open for the next request."""

    async def unread(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    half = await answer(unread, b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\n{")
    assert b"\r\nconnection: close\r\n" in half.writes[0]
    assert half.writes[0].endswith(b"\r\n\r\n{}")
    assert half.closed

    protocol, whole = connected(unread)
    protocol.data_received(POST)
    await asyncio.gather(*protocol.tasks)
    assert b"connection: close" not in whole.writes[0]
    assert not whole.closed
    protocol.connection_lost(None)
