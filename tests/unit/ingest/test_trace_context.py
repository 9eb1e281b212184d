"""The trace id a request's headers supply: X-Trace-Id, else a W3C traceparent."""

from __future__ import annotations

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.sender import Sender
from tracesink.ingest.trace_context import HeaderTraceId, parse_traceparent, trace_id_from_headers

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def test_x_trace_id_wins_over_traceparent() -> None:
    headers = {"x-trace-id": " req-7 ", "traceparent": PARENT}
    assert trace_id_from_headers(headers) == HeaderTraceId("req-7", "x-trace-id")
    assert trace_id_from_headers({"traceparent": PARENT}) == HeaderTraceId(TRACE, "traceparent")
    assert trace_id_from_headers({}) is None


def test_later_traceparent_versions_may_carry_more_fields() -> None:
    """The specification's forward compatibility: versions above 00 may append fields."""
    assert parse_traceparent(f"01-{TRACE}-00f067aa0ba902b7-01-more") == TRACE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "junk",
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-00f067aa0ba902b7-01",
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",
        f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",
    ],
)
def test_an_invalid_traceparent_is_refused_naming_the_header(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_traceparent(value)
    assert caught.value.field == "traceparent"


def test_an_invalid_x_trace_id_is_refused_naming_the_header() -> None:
    with pytest.raises(ValidationError) as caught:
        trace_id_from_headers({"x-trace-id": "logs:{x}"})
    assert caught.value.field == "X-Trace-Id"


def test_a_sender_reads_the_trace_header_only_when_asked() -> None:
    """A malformed header costs nothing until an entry needs it; a missing one names trace_id."""
    sender = Sender({"traceparent": "junk", "origin": "https://app.example"})
    assert (sender.system, sender.system_rule) == ("browser", "origin")
    with pytest.raises(ValidationError) as caught:
        sender.trace_id()
    assert caught.value.field == "traceparent"
    with pytest.raises(ValidationError) as missing:
        Sender({}).trace_id()
    assert missing.value.field == "trace_id"
