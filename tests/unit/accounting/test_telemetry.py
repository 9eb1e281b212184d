"""Telemetry: outcomes counted by system and reason, flush histograms, hourly usage samples."""

from __future__ import annotations

from tracesink.accounting.telemetry import HOUR_MS, SAMPLE_EVERY_MS, Histogram, Telemetry
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.base import Usage


def entry(system: str) -> PreparedEntry:
    return PreparedEntry("id", "t", system, b"{}")


def test_decisions_are_counted_as_accepted_queued_or_refused_by_level() -> None:
    """Admitted entries count as accepted (queued ones also as queued); refused ones by the
    level that refused them."""
    telemetry = Telemetry(Usage)
    telemetry.record_decisions(
        [entry("browser"), entry("browser"), entry("worker"), entry("manual")],
        [
            Decision(None, {}),
            Decision(None, {}, queued=True),
            Decision("trace", {}),
            Decision("global", {}),
        ],
    )
    assert telemetry.accepted == {"browser": 2}
    assert telemetry.queued == {"browser": 1}
    assert telemetry.refused == {("worker", "trace"): 1, ("manual", "global"): 1}


def test_histogram_buckets_are_cumulative() -> None:
    """Each observation counts in every bucket at or above it, as Prometheus expects."""
    histogram = Histogram((1, 5, 10))
    for value in (1, 3, 7, 50):
        histogram.observe(value)
    assert histogram.counts == [1, 2, 3]
    assert (histogram.n, histogram.total) == (4, 61)


def test_flushes_are_observed_and_failures_counted() -> None:
    telemetry = Telemetry(Usage)
    telemetry.record_flush(20, 0.002, failed=False)
    telemetry.record_flush(3, 0.5, failed=True)
    assert telemetry.batch_sizes.n == 2
    assert telemetry.store_errors == 1


def test_last_hour_measures_spending_since_the_oldest_sample_within_the_hour() -> None:
    """Samples are kept at most once a minute; the last hour's spending is the difference from
    the oldest sample still inside it."""
    usage = Usage()
    telemetry = Telemetry(lambda: usage)
    telemetry.sample(0)
    usage.commands = 100
    telemetry.sample(SAMPLE_EVERY_MS // 2)  # too soon: not kept
    assert telemetry.last_hour(SAMPLE_EVERY_MS // 2)[0] == 100
    for minute in range(1, 90):
        usage.commands += 10
        telemetry.sample(minute * SAMPLE_EVERY_MS)
    commands, _, hours = telemetry.last_hour(89 * SAMPLE_EVERY_MS)
    assert hours * HOUR_MS == 60 * SAMPLE_EVERY_MS
    assert commands == 600
