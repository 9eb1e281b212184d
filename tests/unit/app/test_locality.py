"""What makes a request local (open reads, any-origin ingest on loopback): a loopback peer, a
loopback Host, no forwarding header; or a trusted proxy that reports a loopback client."""

from __future__ import annotations

import ipaddress

import pytest

from tracesink.app.http import Message, Request
from tracesink.app.locality import (
    Locality,
    forwarded_chain,
    forwarded_for_chain,
    is_loopback_host,
    node_address,
    reported_client,
)

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def request(peer: str, headers: dict[str, str] | list[tuple[str, str]]) -> Request:
    """A request from ``peer``; ``headers`` as a list of pairs to repeat a header."""

    async def receive() -> Message:
        return {}

    pairs = headers.items() if isinstance(headers, dict) else headers
    raw = [(name.encode(), value.encode()) for name, value in pairs]
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
        # 127.0.0.1 is a trusted hop, so the client left of it is believed: not local
        ({**LOCAL_HOST, "x-forwarded-for": "203.0.113.9, 127.0.0.1"}, False),
        ({**LOCAL_HOST, "x-forwarded-for": "127.0.0.1, 10.1.2.3"}, True),  # two trusted hops
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


HOST = ("host", "127.0.0.1:8787")


@pytest.mark.parametrize(
    ("headers", "local"),
    [
        # HAProxy's option forwardfor: the client's own line first, the proxy's line after it
        ([HOST, ("x-forwarded-for", "127.0.0.1"), ("x-forwarded-for", "203.0.113.9")], False),
        ([HOST, ("x-forwarded-for", "203.0.113.9"), ("x-forwarded-for", "127.0.0.1")], False),
        ([HOST, ("x-forwarded-for", "127.0.0.1"), ("x-forwarded-for", "::1")], True),
        ([HOST, ("forwarded", "for=127.0.0.1"), ("forwarded", "for=203.0.113.9")], False),
        ([HOST, ("forwarded", 'for="[::1]:80"'), ("forwarded", "for=127.0.0.1")], True),
        # a proxy that writes one header forwards the client's forged other one untouched
        ([HOST, ("x-forwarded-for", "127.0.0.1"), ("forwarded", "for=203.0.113.9")], False),
        ([HOST, ("forwarded", "for=127.0.0.1"), ("x-forwarded-for", "203.0.113.9")], False),
        ([HOST, ("x-forwarded-for", "127.0.0.1"), ("forwarded", 'for="[::1]"')], True),
        ([HOST, ("forwarded", "for=unknown")], False),
        ([HOST, ("forwarded", "for=_hidden")], False),
        ([HOST, ("forwarded", "for=127.0.0.1, for=_hidden")], False),
        ([HOST, ("forwarded", "proto=https")], False),  # an element naming no client
        ([HOST, ("forwarded", "for=127.0.0.1 trailing")], False),  # malformed
        ([HOST, ("x-forwarded-for", "")], False),
        ([HOST, ("x-forwarded-for", "unknown")], False),
        # two Host lines: which one a proxy routed by is anyone's guess
        ([HOST, ("host", "evil.example"), ("x-forwarded-for", "127.0.0.1")], False),
        ([("host", "evil.example"), HOST, ("x-forwarded-for", "127.0.0.1")], False),
    ],
)
def test_repeated_forwarding_headers_are_one_list(
    headers: list[tuple[str, str]], local: bool
) -> None:
    """Every line of a repeated forwarding header counts, in order (RFC 9110: one list), and
    the right-most untrusted hop decides: a client's own line cannot make it local."""
    assert Locality(True, TRUSTED).is_local(request("127.0.0.1", headers)) is local


@pytest.mark.parametrize(
    ("values", "nodes"),
    [
        (["for=192.0.2.60;proto=http;by=203.0.113.43"], ["192.0.2.60"]),
        (['for="_gazonk"'], ["_gazonk"]),
        (['For="[2001:db8:cafe::17]:4711"'], ["[2001:db8:cafe::17]:4711"]),
        (["for=192.0.2.43, for=198.51.100.17"], ["192.0.2.43", "198.51.100.17"]),
        (["for=192.0.2.43", "for=198.51.100.17;by=x"], ["192.0.2.43", "198.51.100.17"]),
        (["for=a, , for=b,"], ["a", "b"]),  # empty list elements are ignored
        (['for="a,b";proto=https, for=c'], ["a,b", "c"]),  # a comma inside quotes
        (['for="a\\"b"'], ['a"b']),  # a quoted pair
        (["proto=https"], [""]),
        (["for=a;"], None),
        (["for"], None),
        (['for="unterminated'], None),
        (["for=a b"], None),
    ],
)
def test_forwarded_elements_are_parsed_per_rfc_7239(
    values: list[str], nodes: list[str] | None
) -> None:
    """RFC 7239 examples and edge cases: the for= of each element, quoted strings unescaped,
    commas inside quotes kept; malformed values are None (then not local)."""
    assert forwarded_chain(values) == nodes


def test_forwarded_for_lines_join_in_order() -> None:
    """X-Forwarded-For lines are one comma-separated list, blanks dropped."""
    assert forwarded_for_chain(["127.0.0.1", " 10.0.0.1 ,203.0.113.9", ""]) == [
        "127.0.0.1",
        "10.0.0.1",
        "203.0.113.9",
    ]


@pytest.mark.parametrize(
    ("node", "address"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9:443", "203.0.113.9"),
        ("::1", "::1"),
        ("[::1]:443", "::1"),
        ("[::1]", "::1"),
        ("unknown", None),
        ("_hidden", None),
        ("[::1", None),
        ("", None),
    ],
)
def test_a_hop_is_an_address_or_nothing(node: str, address: str | None) -> None:
    """Hops as proxies write them, with or without a port; names and ids are no address."""
    parsed = node_address(node)
    assert (None if parsed is None else str(parsed)) == address


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    """Trusted hops are skipped from the right; when all are trusted, the left-most is the
    client; a hop that is no address ends the walk with no client."""
    trusted = Locality(True, TRUSTED)._trusts
    assert reported_client(["1.1.1.1", "2.2.2.2", "10.0.0.1"], trusted) == "2.2.2.2"
    assert reported_client(["127.0.0.1", "10.0.0.1"], trusted) == "127.0.0.1"
    assert reported_client(["127.0.0.1", "unknown", "10.0.0.1"], trusted) is None
    assert reported_client([], trusted) is None
