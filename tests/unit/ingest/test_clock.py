"""ingest/clock.py: which clock a request carries, and when its offset corrects an entry."""

from __future__ import annotations

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.clock import MAX_MS, MIN_MS, client_clock, clock_offset

NOW = 1_795_946_400_000


def test_the_header_wins_over_the_query_parameter() -> None:
    """X-Client-Clock, else ?clock=, else no clock; either must be digits (ms)."""
    assert client_clock({"x-client-clock": "5"}, "7") == 5
    assert client_clock({}, "7") == 7
    assert client_clock({}, None) is None
    assert client_clock({}, "") is None


@pytest.mark.parametrize("raw", ["soon", "1.5e12", "-5", "1" * 16, "0x10"])
def test_a_malformed_clock_is_refused_naming_it(raw: str) -> None:
    """Anything but 1 to 15 digits is a 400 naming `clock`, not a silent guess."""
    with pytest.raises(ValidationError) as refused:
        client_clock({}, raw)
    assert refused.value.field == "clock"


def test_an_offset_corrects_only_between_a_second_and_a_day() -> None:
    """Offset = receive time - sent clock, either sign; under MIN_MS it is transit, at MAX_MS
    or more a broken clock; no clock, no correction; a corrected time must stay showable."""
    assert clock_offset(NOW - 5000, NOW - 5100, NOW) == 5000
    assert clock_offset(NOW + 5000, NOW + 4900, NOW) == -5000
    assert clock_offset(NOW - (MIN_MS - 1), NOW, NOW) is None
    assert clock_offset(NOW - MIN_MS, NOW, NOW) == MIN_MS
    assert clock_offset(NOW - MAX_MS, NOW, NOW) is None
    assert clock_offset(None, NOW, NOW) is None
    assert clock_offset(NOW + 5000, 1000, NOW) is None  # would fall before 1970
