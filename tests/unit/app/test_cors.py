"""Which origins CORS allows, and the headers that tell a browser so."""

from __future__ import annotations

from tracesink.app.cors import CorsPolicy


def test_an_allow_list_allows_exactly_its_origins() -> None:
    policy = CorsPolicy(("https://app.example",), loopback=True)
    assert policy.allows("https://app.example")
    assert policy.allows("https://app.example/")  # a trailing slash is the same origin
    assert not policy.allows("https://evil.example")


def test_without_a_list_loopback_allows_any_origin_and_elsewhere_none() -> None:
    assert CorsPolicy((), loopback=True).allows("https://anything.example")
    assert not CorsPolicy((), loopback=False).allows("https://anything.example")
    assert CorsPolicy(("*",), loopback=False).allows("https://anything.example")


def test_responses_name_the_origin_and_vary_on_it() -> None:
    """The allowed origin is echoed (never ``*``), RateLimit headers are exposed to scripts,
    and caches are told the answer depends on Origin."""
    policy = CorsPolicy((), loopback=True)
    sent = dict(policy.headers("https://app.example"))
    assert sent[b"access-control-allow-origin"] == b"https://app.example"
    assert b"RateLimit" in sent[b"access-control-expose-headers"]
    assert sent[b"vary"] == b"Origin"
    preflight = dict(policy.preflight_headers("https://app.example"))
    assert b"POST" in preflight[b"access-control-allow-methods"]
    assert b"X-Log-System" in preflight[b"access-control-allow-headers"]
