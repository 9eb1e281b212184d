"""The monthly estimate /stats shows: measuring until the sample means something, and never
above what the limits or the daily budget let ingest spend."""

from __future__ import annotations

from tracesink.accounting.cost import WORST_COMMANDS_PER_ENTRY, Prices, estimate_month


def test_a_few_seconds_say_measuring_and_never_exceed_what_the_limits_allow() -> None:
    """Three entries' commands in three seconds would project a fortune: the estimate says it
    is still measuring and caps the month at what the limits let ingest spend."""
    estimate = estimate_month(
        21,
        600,
        3 / 3600,
        3600,
        Prices(),
        entries_per_window=1000,
        window_s=3600,
        max_commands_per_day=None,
    )
    assert estimate.measuring
    assert estimate.capped_by == "limits"
    assert estimate.month.commands_per_month == 1000 * 720 * WORST_COMMANDS_PER_ENTRY
    assert estimate.month.commands_usd < 15


def test_a_budget_below_the_limits_caps_the_estimate() -> None:
    """With a daily budget, a month costs at most 30 days of it; an hour's sample projects."""
    estimate = estimate_month(
        100_000,
        0,
        1.0,
        3600,
        Prices(),
        entries_per_window=1_000_000,
        window_s=3600,
        max_commands_per_day=10_000,
    )
    assert not estimate.measuring
    assert estimate.capped_by == "budget"
    assert estimate.month.commands_per_month == 300_000
