"""Web pages and proxies against a real ``tracesink serve`` on loopback (memory and Redis stores):
no foreign origin (nor ``null``) is CORS-granted a read, and a request that came through a proxy
or tunnel, or under another host name, is not local: no open reads, no any-origin ingest."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.refusal import assert_refused
from tests.support.service import Service, serving

pytestmark = pytest.mark.slow

EVIL = "https://evil.example"
ENTRY = {"trace_id": "origin-test", "message": "hello"}
READS = ["/traces", "/logs/origin-test", "/stats", "/metrics", "/health", "/"]
FORWARDING = [
    {"x-forwarded-for": "203.0.113.9"},
    {"forwarded": "for=203.0.113.9;proto=https"},
    {"cf-connecting-ip": "203.0.113.9"},
    {"x-real-ip": "203.0.113.9"},
    {"x-forwarded-host": "logs.example.com"},
    {"via": "1.1 tunnel"},
]


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("origin", [EVIL, "null", "http://localhost:3000"])
def test_reads_are_never_granted_to_an_unlisted_origin(
    service: Service, path: str, origin: str
) -> None:
    """On loopback without an allow-list, a page from another origin (or a sandboxed one,
    `null`) gets 403 naming Origin on every read route and no CORS grant."""
    response = httpx.get(f"{service.url}{path}", headers={"origin": origin})
    assert response.status_code == 403
    assert response.json()["field"] == "Origin"
    assert "access-control-allow-origin" not in response.headers


def test_a_read_preflight_from_an_unlisted_origin_is_refused(service: Service) -> None:
    """The preflight a page would send before reading with a token is refused too."""
    response = httpx.options(
        f"{service.url}/traces",
        headers={"origin": EVIL, "access-control-request-method": "GET"},
    )
    assert_refused(response, 403, "Origin", "TRACESINK_CORS_ORIGINS")
    assert "access-control-allow-origin" not in response.headers


def test_any_origin_may_still_send_from_this_machine(service: Service) -> None:
    """The loopback default stays for ingest: a local page on any origin can send logs, and
    its preflight lists the documented X-Tracesink-Key header."""
    sent = httpx.post(f"{service.url}/log", json=ENTRY, headers={"origin": EVIL})
    assert sent.status_code == 200
    assert sent.headers["access-control-allow-origin"] == EVIL
    preflight = httpx.options(
        f"{service.url}/log",
        headers={
            "origin": EVIL,
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-tracesink-key",
        },
    )
    assert preflight.status_code == 204
    assert "X-Tracesink-Key" in preflight.headers["access-control-allow-headers"]


@pytest.mark.parametrize("headers", FORWARDING)
def test_a_forwarded_request_is_not_local(service: Service, headers: dict[str, str]) -> None:
    """Through a proxy or tunnel (any forwarding header), reads need a token (403 naming it)
    and ingest from a browser origin is refused; ingest without an origin still works."""
    read = httpx.get(f"{service.url}/traces", headers=headers)
    assert read.status_code == 403
    assert "TRACESINK_READ_TOKEN" in read.json()["error"]
    browser = httpx.post(f"{service.url}/log", json=ENTRY, headers={**headers, "origin": EVIL})
    assert_refused(browser, 403, "Origin", "TRACESINK_CORS_ORIGINS")
    assert httpx.post(f"{service.url}/log", json=ENTRY, headers=headers).status_code == 200


def test_another_host_name_is_not_local(service: Service) -> None:
    """DNS rebinding: a page reaching 127.0.0.1 under its own name (Host: evil.example) gets no
    open read, even same-origin (no Origin header)."""
    response = httpx.get(f"{service.url}/traces", headers={"host": "evil.example:8787"})
    assert_refused(response, 403, "Authorization", "TRACESINK_READ_TOKEN")


def test_listed_origins_may_read_and_a_star_grants_no_read() -> None:
    """TRACESINK_CORS_ORIGINS=https://viewer.example,*: the named origin may read (with its
    CORS grant), any origin may send, and no other origin may read."""
    with serving({"TRACESINK_CORS_ORIGINS": "https://viewer.example,*"}) as service:
        viewer = httpx.get(f"{service.url}/traces", headers={"origin": "https://viewer.example"})
        assert viewer.status_code == 200
        assert viewer.headers["access-control-allow-origin"] == "https://viewer.example"
        other = httpx.get(f"{service.url}/traces", headers={"origin": EVIL})
        assert_refused(other, 403, "Origin", "TRACESINK_CORS_ORIGINS", "never *")
        assert httpx.post(f"{service.url}/log", json=ENTRY, headers={"origin": EVIL}).is_success


def test_behind_a_trusted_proxy_the_reported_client_decides() -> None:
    """TRACESINK_TRUSTED_PROXIES=127.0.0.1 (a proxy on this machine): a request it reports as
    from 127.0.0.1 reads openly; one from a public address, or one it says nothing about,
    does not."""
    with serving({"TRACESINK_TRUSTED_PROXIES": "127.0.0.1"}) as service:
        url = f"{service.url}/traces"
        assert httpx.get(url, headers={"x-forwarded-for": "127.0.0.1"}).status_code == 200
        public = {"x-forwarded-for": "127.0.0.1, 203.0.113.9"}
        for unknown in (httpx.get(url, headers=public), httpx.get(url)):
            assert_refused(unknown, 403, "Authorization", "TRACESINK_READ_TOKEN")


@pytest.fixture(scope="module")
def behind_a_proxy() -> Iterator[Service]:
    """An instance that trusts a proxy on this machine, without a read token."""
    with serving({"TRACESINK_TRUSTED_PROXIES": "127.0.0.1"}) as service:
        yield service


def get_traces_raw(service: Service, header_lines: list[bytes]) -> bytes:
    """`GET /traces` over a raw socket, its head written line by line as a proxy would (httpx
    folds a repeated header into one line); the status line of the answer."""
    host, port = service.url.removeprefix("http://").split(":")
    head = b"GET /traces HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"".join(line + b"\r\n" for line in header_lines) + b"\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([b"X-Forwarded-For: 127.0.0.1"], 200),  # the proxy reports a local client
        # HAProxy's option forwardfor adds a second line after the client's forged one
        ([b"X-Forwarded-For: 127.0.0.1", b"X-Forwarded-For: 203.0.113.9"], 403),
        ([b"Forwarded: for=127.0.0.1", b"Forwarded: for=203.0.113.9"], 403),
        ([b"X-Forwarded-For: 127.0.0.1", b"Forwarded: for=203.0.113.9"], 403),
        ([b'Forwarded: for="[::1]:51234"'], 200),
        ([b"Forwarded: for=_hidden"], 403),
        ([b"Forwarded: for=unknown"], 403),
        ([b"Host: evil.example", b"X-Forwarded-For: 127.0.0.1"], 403),  # a second Host
    ],
)
def test_a_repeated_forwarding_header_is_read_as_one_list(lines: list[bytes], status: int) -> None:
    """Behind a trusted proxy with no read token, over real HTTP: every line of a repeated
    forwarding header counts, the right-most untrusted hop is the client, and a client's own
    `X-Forwarded-For: 127.0.0.1` before the proxy's line opens nothing."""
    with serving({"TRACESINK_TRUSTED_PROXIES": "127.0.0.1"}) as service:
        assert get_traces_raw(service, lines).startswith(b"HTTP/1.1 %d " % status)
