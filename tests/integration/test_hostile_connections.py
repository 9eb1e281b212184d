"""Hostile connections against a real ``tracesink serve`` (memory and Redis stores): idle and slow
clients cannot lock anyone out, request heads are capped and timed, and every odd request (HEAD,
a WebSocket upgrade, a malformed pipelined one, a strange number) gets a 4xx or its answer."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.redis_server import free_port, redis_server_binary, running_redis_server
from tests.support.service import Service, end, serving, wait_healthy

pytestmark = pytest.mark.slow

# Long enough that "answered before the idle connections were cut" holds on a loaded machine.
HEAD_TIMEOUT_S = 5
LIMITS = {
    "TRACESINK_HEADER_TIMEOUT_S": str(HEAD_TIMEOUT_S),
    "TRACESINK_SEND_TIMEOUT_S": str(HEAD_TIMEOUT_S),
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


# Requests whose route answers without reading the declared body: a 404, a 405, a public route
# given a body, a body declared larger than TRACESINK_MAX_BODY_BYTES (413 before reading).
HALF_READ = (
    b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    b"DELETE /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
    b"POST /log HTTP/1.1\r\nHost: x\r\nContent-Length: 900000000\r\n\r\n",
)


def connections_held(service: Service) -> int:
    """How many connections to its port the server process holds open (Linux /proc): its
    socket descriptors matched against the kernel's TCP table, the listener left out."""
    pid, port = service.process.pid, int(service.url.rsplit(":", 1)[1])
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed while listed
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    held = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            listening = fields[3] == "0A"
            held += local_port == port and not listening and fields[9] in inodes
    return held


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_thousand_half_read_connections_are_closed_within_the_deadline(
    service: Service,
) -> None:
    """1,000 requests answered without their declared body being read, each followed by one
    more byte and then nothing: every answer says `Connection: close` and ends the server's
    side (EOF), /health answers meanwhile, and the server holds none of the sockets once the
    head timeout has passed, though the clients never close them."""
    clients = [connect(service) for _ in range(1000)]
    try:
        for n, sock in enumerate(clients):
            sock.sendall(HALF_READ[n % len(HALF_READ)])
        for sock in clients:
            sock.sendall(b"x")
        assert httpx.get(f"{service.url}/health", timeout=5).status_code == 200
        for n, sock in enumerate(clients):
            answer = read_all(sock)  # returns at the server's EOF; a timeout fails the test
            # 404, 405, 200, 413, or 503 past TRACESINK_MAX_CONCURRENCY: answered either way
            assert answer.startswith(b"HTTP/1.1 "), (n, answer)
            assert b"\r\nconnection: close\r\n" in answer.lower(), answer
        # The server lingers (discarding what still comes) until the client closes or the
        # head deadline passes: these clients never close, so the deadline ends each one.
        assert connections_held(service) > 0  # they linger: the count below can fall
        assert wait_for(lambda: connections_held(service) == 0, HEAD_TIMEOUT_S + 10), (
            connections_held(service)
        )
    finally:
        for sock in clients:
            sock.close()


def test_a_body_trickled_to_a_route_that_does_not_read_it_is_cut(service: Service) -> None:
    """A 404 whose client goes on trickling its body a byte at a time: the server answers,
    closes its side at once and the whole connection by the head deadline, trickle or not."""
    with connect(service) as sock:
        sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        started = time.monotonic()
        answer, cut = b"", False
        sock.settimeout(0.1)
        while time.monotonic() - started < HEAD_TIMEOUT_S + 10:
            try:
                sock.sendall(b"x")
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # reset, or a broken pipe: the server has closed
                cut = True
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert cut, "the connection was still open"
    assert elapsed < HEAD_TIMEOUT_S + 5


def test_a_slowly_pipelined_request_gets_408(service: Service) -> None:
    """A good request followed by the next one's head a byte at a time: the first is answered,
    the second cut with 408 at the head deadline, not served for ever."""
    started = time.monotonic()
    with connect(service) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nG")
        sock.settimeout(0.3)
        answer = b""
        for byte in b"ET /health HTTP/1.1\r\nHost: x\r\n":
            with contextlib.suppress(TimeoutError):
                answer += sock.recv(65536)
            if b"HTTP/1.1 408 " in answer or time.monotonic() - started > HEAD_TIMEOUT_S + 5:
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
        sock.settimeout(5)
        answer += read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 408 " in answer


def test_a_body_that_arrived_whole_keeps_the_connection(service: Service) -> None:
    """A 404 whose small body came with its head leaves the connection usable: the next
    request on it is answered (only an unread rest forces a close)."""
    answer = exchange(
        service,
        b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"HTTP/1.1 200 " in answer


def test_a_client_that_never_reads_its_answers_is_dropped(service: Service) -> None:
    """A thousand pipelined requests whose answers are never read: the server's buffers fill
    and writing stalls; once nothing has been taken for the send timeout, the connection is
    dropped rather than held (with its task) for ever, and /health answers meanwhile."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
        host, port = service.url.removeprefix("http://").split(":")
        sock.connect((host, int(port)))
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 1000)
        assert wait_for(lambda: connections_held(service) == 1, 10)
        assert httpx.get(f"{service.url}/health", timeout=5).status_code == 200
        assert wait_for(lambda: connections_held(service) == 0, HEAD_TIMEOUT_S + 15)


def test_a_413_is_read_by_a_client_still_sending_its_body(service: Service) -> None:
    """A body declared too large, sent whole anyway (as urllib does, which reads no answer
    before its body is written): the server discards the rest while it lingers, so the client
    finishes writing without a reset and then reads the 413."""
    size = 8 * 1024 * 1024
    with connect(service) as sock:
        sock.sendall(b"POST /log HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        sock.sendall(b"x" * size)  # a reset here is the failure this test exists for
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"TRACESINK_MAX_BODY_BYTES" in answer


def limited_to(soft: int, hard: int) -> None:
    """Run in the child before exec: the open-files limit a default Linux login gives."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_soft_limit_of_1024_descriptors_locks_nobody_out() -> None:
    """Started with the usual soft limit of 1,024 open files (hard 4,096), the server raises it
    to the hard limit: 1,100 idle connections later, /health still answers."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesink", "serve", "--port", str(port)],
        env={**clean, "TRACESINK_HEADER_TIMEOUT_S": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: limited_to(1024, 4096),  # in the child, before exec
    )
    service = Service(process, f"http://127.0.0.1:{port}")
    idle: list[socket.socket] = []
    try:
        wait_healthy(service)
        limits = Path(f"/proc/{process.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        assert line.split()[3:5] == ["4096", "4096"], line
        idle = [connect(service) for _ in range(1100)]
        assert httpx.get(f"{service.url}/health", timeout=10).status_code == 200
    finally:
        for sock in idle:
            sock.close()
        end(process)  # SIGTERM: its coverage is saved
