"""CORS decisions and what the banner says about them: ingest and reads are granted apart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tracesink.app.cors import CorsPolicy, valid_origin
from tracesink.config import Settings
from tracesink.server.run import banner

EVIL = "https://evil.example"


def test_loopback_default_lets_local_pages_send_but_never_read() -> None:
    """No allow-list on loopback: any origin sends from this machine only; nobody reads."""
    policy = CorsPolicy((), (), loopback=True)
    assert policy.allows(EVIL, ingest=True, local=True)
    assert not policy.allows(EVIL, ingest=True, local=False)
    assert not policy.allows(EVIL, ingest=False, local=True)
    assert not policy.allows("null", ingest=False, local=True)


def test_a_page_of_this_instance_may_read_its_own_origin() -> None:
    """Same origin (the request's own http://Host), from this machine: allowed to read."""
    policy = CorsPolicy((), (), loopback=True)
    own = "http://127.0.0.1:8787"
    assert policy.allows(own, ingest=False, local=True, own=own)
    assert not policy.allows(own, ingest=False, local=False, own=own)


def test_an_ingest_key_with_star_opens_ingest_only() -> None:
    """A key valid from `*` lets any origin send; reads stay closed to every origin."""
    policy = CorsPolicy((), ("*",), loopback=False)
    assert policy.allows(EVIL, ingest=True, local=False)
    assert not policy.allows(EVIL, ingest=False, local=False)
    assert Settings(ingest_keys={"pk_public_1": ("*",)}).describe_cors() == (
        "send from any origin; read from no other origin"
    )


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (Settings(), "send from any origin, from this machine only (loopback); read from no other"),
        (
            Settings(ingest_keys={"pk_public_1": ("*",)}),
            "send from any origin; read from no other origin",
        ),
        (
            Settings(cors_origins=("https://app.example",)),
            "send from https://app.example; read from https://app.example",
        ),
    ],
)
def test_the_banner_tells_the_truth_about_cors(settings: Settings, says: str) -> None:
    """The start-up banner's cors line says who may send and who may read, keys included."""
    assert f"cors:   {says}" in banner(replace(settings))


@pytest.mark.parametrize(
    ("origin", "valid"),
    [
        ("https://app.example", True),
        ("http://localhost:3000", True),
        ("chrome-extension://abcdef", True),
        ("null", True),
        ("https://app.example/path", False),
        ("https://user@app.example", False),
        ("", False),
        ("x" * 300, False),
        ("https://" + "a" * 300, False),
    ],
)
def test_origin_headers_are_parsed_strictly(origin: str, valid: bool) -> None:
    """An Origin is scheme://host[:port] or null, at most 256 characters; else a 400."""
    assert valid_origin(origin) is valid


def test_the_preflight_allows_what_the_clients_send() -> None:
    """Ingest keys, trace ids, the system label, the read token, and Last-Event-ID (a live
    stream resumed by fetch() from another origin)."""
    allowed = dict(CorsPolicy((), (), loopback=True).preflight_headers("https://a.example"))
    listed = allowed[b"access-control-allow-headers"].decode().lower()
    for header in ("x-tracesink-key", "x-trace-id", "traceparent", "x-log-system"):
        assert header in listed
    assert "authorization" in listed
    assert "last-event-id" in listed
