"""Source detection: the precedence of DESIGN.md, and the rule recorded for each answer."""

from __future__ import annotations

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.detect import detect_from_headers

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-log-system": "Convex", "cf-worker": "x.workers.dev"}, ("convex", "x-log-system")),
        ({"cf-worker": "example.com", "user-agent": CHROME}, ("worker", "cf-worker")),
        ({"sec-fetch-mode": "cors", "user-agent": "curl/8"}, ("browser", "sec-fetch")),
        ({"sec-fetch-site": "cross-site"}, ("browser", "sec-fetch")),
        ({"origin": "http://localhost:3000"}, ("browser", "origin")),
        ({"user-agent": CHROME}, ("browser", "user-agent")),
        ({"user-agent": "python-httpx/0.28"}, ("manual", "default")),
        ({}, ("manual", "default")),
    ],
)
def test_precedence(headers: dict[str, str], expected: tuple[str, str]) -> None:
    """X-Log-System > CF-Worker > Sec-Fetch-* > Origin > browser User-Agent > manual."""
    assert detect_from_headers(headers) == expected


def test_any_well_formed_x_log_system_is_a_label() -> None:
    """A header naming a system the settings do not know is still a label (counted as manual
    later, never lost); it is normalised to lower case."""
    assert detect_from_headers({"x-log-system": " Python "}) == ("python", "x-log-system")


@pytest.mark.parametrize("raw", ["", "9lives", "a b", "x" * 33, "sys/tem", "é"])
def test_a_malformed_x_log_system_is_a_clear_error(raw: str) -> None:
    """A header that cannot be a system name is refused, naming the header."""
    with pytest.raises(ValidationError) as caught:
        detect_from_headers({"x-log-system": raw})
    assert caught.value.field == "X-Log-System"
