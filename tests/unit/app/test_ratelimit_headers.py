"""RateLimit-Policy / RateLimit / Retry-After for a decision, per level."""

from __future__ import annotations

from tracesink.app.ratelimit_headers import RateLimitHeaders, retry_after_s
from tracesink.limits import Decision, Policy

POLICY = Policy(
    global_limit=1000,
    trace_limit=100,
    system_limits={"browser": 400},
    window_ms=3_600_000,
    ttl_ms=3_600_000,
)
HOUR_START = 1_795_946_400_000


def headers(system: str, decision: Decision, decided_ms: int) -> dict[bytes, bytes]:
    return dict(RateLimitHeaders(POLICY).for_decision(system, decision, decided_ms))


def test_the_policy_names_each_level_that_applies() -> None:
    """A browser entry has three levels; a system without a share (manual) has two."""
    admitted = Decision(None, {"global": 10, "system": 5, "trace": 1})
    browser = headers("browser", admitted, HOUR_START)
    assert browser[b"ratelimit-policy"] == (
        b'"global";q=1000;w=3600, "system";q=400;w=3600, "trace";q=100;w=3600'
    )
    manual = headers("manual", Decision(None, {"global": 10, "trace": 1}), HOUR_START)
    assert manual[b"ratelimit-policy"] == b'"global";q=1000;w=3600, "trace";q=100;w=3600'


def test_an_admitted_entry_gets_the_remaining_and_the_window_rollover() -> None:
    """r is what is left; t the seconds until the window rolls over, from the decision time."""
    admitted = Decision(None, {"global": 10, "system": 5, "trace": 1})
    sent = headers("browser", admitted, HOUR_START + 600_000)  # ten minutes into the window
    assert sent[b"ratelimit"] == b'"global";r=10;t=3000, "system";r=5;t=3000, "trace";r=1;t=3000'
    assert b"retry-after" not in sent


def test_the_refusing_levels_t_is_the_retry_after() -> None:
    """The level that refused says when it admits again, exactly as Retry-After does."""
    refused = Decision("trace", {"global": 10, "system": 5, "trace": 0}, retry_after_ms=42_001)
    sent = headers("browser", refused, HOUR_START + 600_000)
    assert sent[b"retry-after"] == b"43"
    assert sent[b"ratelimit"] == b'"global";r=10;t=3000, "system";r=5;t=3000, "trace";r=0;t=43'


def test_retry_after_is_at_least_one_second() -> None:
    """A refusal never says 0: a client told to retry at once would spin."""
    assert retry_after_s(Decision("global", {}, retry_after_ms=0)) == 1
    assert retry_after_s(Decision("global", {}, retry_after_ms=1001)) == 2
