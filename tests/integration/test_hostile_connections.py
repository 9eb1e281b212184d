"""Hostile connections against a real ``tracesink serve`` (memory and Redis stores): idle and slow
clients cannot lock anyone out, request heads are capped and timed, and every odd request (HEAD,
a WebSocket upgrade, a malformed pipelined one, a strange number) gets a 4xx or its answer."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.redis_server import redis_server_binary, running_redis_server
from tests.support.service import Service, serving

pytestmark = pytest.mark.slow

# Long enough that "answered before the idle connections were cut" holds on a loaded machine.
HEAD_TIMEOUT_S = 5
LIMITS = {
    "TRACESINK_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S),
    "TRACESINK_READ_TIMEOUT_S": "1",
    "TRACESINK_MAX_CONCURRENCY": "100",
}


@pytest.fixture(scope="module", params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    if request.param == "memory":
        with serving(LIMITS) as running:
            yield running
        return
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    with running_redis_server() as redis, serving({**LIMITS, "TRACESINK_STORE": redis.url}) as s:
        yield s


def connect(service: Service) -> socket.socket:
    host, port = service.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    out = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


def exchange(service: Service, raw: bytes) -> bytes:
    with connect(service) as sock:
        sock.sendall(raw)
        return read_all(sock)


def test_a_thousand_idle_connections_lock_nobody_out(service: Service) -> None:
    """1,000 connections that send nothing (ten times --max-concurrency): /health and ingest
    still answer while they are open (before the head timeout cuts them, not because it did),
    and the idle ones are closed once the head timeout passes."""
    idle = [connect(service) for _ in range(1000)]
    try:
        started = time.monotonic()
        assert httpx.get(f"{service.url}/health", timeout=30).status_code == 200
        entry = {"trace_id": "idle-test", "message": "still here"}
        assert httpx.post(f"{service.url}/log", json=entry, timeout=30).status_code == 200
        assert time.monotonic() - started < HEAD_TIMEOUT_S
        for sock in idle:
            sock.settimeout(HEAD_TIMEOUT_S + 30)  # a wait for the cut, not a bound on it
            assert read_all(sock) == b""  # closed without a word: nothing was asked
    finally:
        for sock in idle:
            sock.close()


def test_a_slow_request_line_is_cut_with_408(service: Service) -> None:
    """A request line trickled a byte at a time gets 408 and a closed connection once the head
    timeout passes, instead of holding the connection for ever."""
    # The server's deadline starts when it accepts the connection: the clock starts before
    # connecting, so that the elapsed time cannot fall short of it by the connect's own time.
    started = time.monotonic()
    with connect(service) as sock:
        answer = b""
        for byte in b"GET /health HTTP/1.1\r\n":
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sock.settimeout(0.3)
            with contextlib.suppress(TimeoutError):
                answer += sock.recv(65536)
            if answer:
                break
        sock.settimeout(HEAD_TIMEOUT_S + 30)  # held for ever would time out here
        answer += read_all(sock)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"TRACESINK_HEADER_TIMEOUT_S" in answer
    assert elapsed >= HEAD_TIMEOUT_S  # not before its time; after it, however busy the machine


def test_a_200_kb_header_is_refused_with_431(service: Service) -> None:
    """A head over TRACESINK_MAX_HEADER_BYTES is refused as soon as it is known, not buffered."""
    raw = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
    with connect(service) as sock:
        with contextlib.suppress(OSError):  # the server may close before all of it is sent
            sock.sendall(raw)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"TRACESINK_MAX_HEADER_BYTES" in answer
    assert b'"field":"headers"' in answer


def test_a_slow_body_gets_408_and_its_connection_closed(service: Service) -> None:
    """A body that does not arrive within TRACESINK_READ_TIMEOUT_S: 408, connection closed."""
    with connect(service) as sock:
        sock.sendall(b"POST /log HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"TRACESINK_READ_TIMEOUT_S" in answer
    assert b"connection: close" in answer.lower()


def test_head_on_a_get_route_answers_its_headers(service: Service) -> None:
    """HEAD /health and HEAD /traces answer 200 with the GET's headers and no body."""
    for path in ("/health", "/traces"):
        response = httpx.head(f"{service.url}{path}")
        assert response.status_code == 200
        assert int(response.headers["content-length"]) > 0
        assert response.content == b""


def test_a_websocket_upgrade_is_answered_as_plain_http(service: Service) -> None:
    """No WebSocket route: an upgrade request gets the route's plain answer and the connection
    closes, never a 500."""
    answer = exchange(
        service,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_malformed_request_after_a_good_one_keeps_the_answers_in_order(
    service: Service,
) -> None:
    """Pipelined: a good request, then garbage. The good one is answered in full, then the
    connection closes; no 400 is written over it."""
    answer = exchange(
        service, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.count(b"HTTP/1.1") == 1


def test_a_malformed_request_alone_gets_a_400_naming_it(service: Service) -> None:
    """Garbage on a fresh connection: 400 in JSON, naming the request, then close."""
    answer = exchange(service, b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"field":"request"' in answer


@pytest.mark.parametrize("limit", ["%C2%B2", "1" * 5000, "-1", "+5", "%201", "1_0", "0x10"])
def test_a_strange_number_in_the_query_is_a_400_naming_it(service: Service, limit: str) -> None:
    """?limit= takes 1 to 18 ASCII digits only: superscripts, 5,000 digits, signs, spaces,
    underscores and hex are a 400 naming `limit`."""
    response = httpx.get(f"{service.url}/traces?limit={limit}")
    assert response.status_code == 400
    assert response.json()["field"] == "limit"
