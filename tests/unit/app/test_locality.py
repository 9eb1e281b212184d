"""What makes a request local (open reads, any-origin ingest on loopback): a loopback peer, a
loopback Host, no forwarding header; or a trusted proxy that reports a loopback client."""

from __future__ import annotations

import ipaddress

import pytest

from tracesink.app.http import Message, Request
from tracesink.app.locality import Locality, is_loopback_host

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def request(peer: str, headers: dict[str, str]) -> Request:
    async def receive() -> Message:
        return {}

    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    return Request({"client": (peer, 5000), "headers": raw}, receive)


LOCAL_HOST = {"host": "127.0.0.1:8787"}


@pytest.mark.parametrize(
    ("peer", "headers", "local"),
    [
        ("127.0.0.1", LOCAL_HOST, True),
        ("::1", {"host": "[::1]:8787"}, True),
        ("127.0.0.1", {"host": "localhost:8787"}, True),
        ("192.168.1.5", LOCAL_HOST, False),
        ("127.0.0.1", {"host": "evil.example:8787"}, False),  # DNS rebinding
        ("127.0.0.1", {}, False),  # no Host at all
        ("127.0.0.1", {**LOCAL_HOST, "x-forwarded-for": "203.0.113.9"}, False),
        ("127.0.0.1", {**LOCAL_HOST, "x-forwarded-for": "127.0.0.1"}, False),  # untrusted peer
        ("127.0.0.1", {**LOCAL_HOST, "forwarded": "for=203.0.113.9"}, False),
        ("127.0.0.1", {**LOCAL_HOST, "cf-connecting-ip": "203.0.113.9"}, False),
        ("127.0.0.1", {**LOCAL_HOST, "x-real-ip": "203.0.113.9"}, False),
        ("127.0.0.1", {**LOCAL_HOST, "via": "1.1 proxy"}, False),
    ],
)
def test_locality_without_trusted_proxies(peer: str, headers: dict[str, str], local: bool) -> None:
    """Any forwarding header, a foreign Host or a foreign peer makes a request non-local."""
    assert Locality(True, []).is_local(request(peer, headers)) is local


@pytest.mark.parametrize(
    ("headers", "local"),
    [
        ({**LOCAL_HOST, "x-forwarded-for": "127.0.0.1"}, True),
        ({**LOCAL_HOST, "x-forwarded-for": "127.0.0.1, 203.0.113.9"}, False),  # right-most
        ({**LOCAL_HOST, "x-forwarded-for": "203.0.113.9, 127.0.0.1"}, True),
        ({**LOCAL_HOST, "forwarded": 'for="[::1]:443"'}, True),
        ({**LOCAL_HOST, "forwarded": "for=203.0.113.9:443;proto=https"}, False),
        (LOCAL_HOST, False),  # a trusted proxy that says nothing: not local
    ],
)
def test_a_trusted_proxy_reports_the_client(headers: dict[str, str], local: bool) -> None:
    """From a trusted proxy, the right-most reported address decides, and silence is not local."""
    assert Locality(True, TRUSTED).is_local(request("127.0.0.1", headers)) is local


def test_nothing_is_local_off_loopback() -> None:
    """Serving on a non-loopback address, no request is local, whatever it looks like."""
    assert not Locality(False, TRUSTED).is_local(request("127.0.0.1", LOCAL_HOST))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("app.localhost:3000", True),
        ("127.8.9.1:1", True),
        ("[::1]", True),
        ("localhost.evil.example", False),
        ("[::1", False),
        ("", False),
        ("0.0.0.0:8787", False),
    ],
)
def test_loopback_host_names(host: str, loopback: bool) -> None:
    """Host names that can only mean this machine; everything else is another host."""
    assert is_loopback_host(host) is loopback
