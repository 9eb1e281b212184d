"""Refused origins are logged once per origin per interval, with the count held back."""

from __future__ import annotations

import pytest

from tracesink.app.refused_origins import RefusedOrigins


def test_each_origin_once_per_interval_then_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five refusals of one origin within the interval make one line; the next interval's
    first line says how many were held back; another origin has its own interval."""
    now = [0.0]
    refused = RefusedOrigins(every_s=60, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="tracesink"):
        for _ in range(5):
            refused.refused("https://a.example", ingest=True)
        refused.refused("https://b.example", ingest=False)
        now[0] = 61.0
        refused.refused("https://a.example", ingest=True)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("refused origin https://a.example: may not send logs")
    assert lines[1].startswith("refused origin https://b.example: may not read")
    assert lines[2].endswith("(4 more since the last report)")
