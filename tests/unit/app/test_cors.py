"""Which origins CORS allows, and the headers that tell a browser so."""

from __future__ import annotations

from tracesink.app.cors import CorsPolicy


def test_an_allow_list_allows_exactly_its_origins() -> None:
    """Listed origins may send and read; a trailing slash is the same origin."""
    policy = CorsPolicy(("https://app.example",), (), loopback=True)
    for ingest in (True, False):
        assert policy.allows("https://app.example", ingest=ingest, local=True)
        assert policy.allows("https://app.example/", ingest=ingest, local=True)
        assert not policy.allows("https://evil.example", ingest=ingest, local=True)


def test_without_a_list_loopback_allows_any_origin_to_send_and_elsewhere_none() -> None:
    """The loopback default (local requests only) and `*` open sending, never reading."""
    anything = "https://anything.example"
    assert CorsPolicy((), (), loopback=True).allows(anything, ingest=True, local=True)
    assert not CorsPolicy((), (), loopback=True).allows(anything, ingest=True, local=False)
    assert not CorsPolicy((), (), loopback=False).allows(anything, ingest=True, local=False)
    assert CorsPolicy(("*",), (), loopback=False).allows(anything, ingest=True, local=False)
    assert not CorsPolicy(("*",), (), loopback=True).allows(anything, ingest=False, local=True)


def test_responses_name_the_origin_and_vary_on_it() -> None:
    """The allowed origin is echoed (never ``*``), RateLimit headers are exposed to scripts,
    and caches are told the answer depends on Origin."""
    policy = CorsPolicy((), (), loopback=True)
    sent = dict(policy.headers("https://app.example"))
    assert sent[b"access-control-allow-origin"] == b"https://app.example"
    assert b"RateLimit" in sent[b"access-control-expose-headers"]
    assert sent[b"vary"] == b"Origin"
    preflight = dict(policy.preflight_headers("https://app.example"))
    assert b"POST" in preflight[b"access-control-allow-methods"]
    assert b"X-Log-System" in preflight[b"access-control-allow-headers"]
