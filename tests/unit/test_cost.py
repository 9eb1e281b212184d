"""The monthly cost projection and the daily budget, as pure arithmetic."""

from __future__ import annotations

import pytest

from tracesink.budget import DAY_MS, CommandBudget
from tracesink.cost import Prices, project_month


def test_an_hour_of_commands_projects_to_a_month() -> None:
    """100k commands in an hour: 72M a month, $144 at $0.20 per 100k."""
    month = project_month(100_000, 0, 1.0, 3600, Prices())
    assert month.commands_per_month == 72_000_000
    assert month.commands_usd == pytest.approx(144.0)


def test_storage_is_one_ttl_of_what_is_written_per_hour() -> None:
    """1 GB written per hour, kept 2 hours: 2 GB held, $0.50 a month at $0.25 per GB-month."""
    month = project_month(0, 1_000_000_000, 1.0, 7200, Prices())
    assert month.stored_gb == pytest.approx(2.0)
    assert month.storage_usd == pytest.approx(0.5)
    assert month.total_usd == pytest.approx(0.5)


def test_a_short_measurement_is_scaled_to_an_hour() -> None:
    """10 minutes measured count six times over."""
    assert project_month(1000, 0, 1 / 6, 3600, Prices()).commands_per_month == 6000 * 720


def test_the_budget_counts_from_the_start_of_each_utc_day() -> None:
    """Commands spent before today do not count; a new day starts from zero."""
    spent = [500]
    budget = CommandBudget(100, lambda: spent[0])
    now = 10 * DAY_MS + 1000
    assert budget.used_today(now) == 0
    spent[0] += 100
    assert budget.exhausted(now)
    assert CommandBudget.seconds_to_reset(now) == 86_399
    assert not budget.exhausted(11 * DAY_MS)


def test_no_budget_is_never_exhausted() -> None:
    """Without TRACESINK_MAX_COMMANDS_PER_DAY nothing is refused for cost."""
    assert not CommandBudget(None, lambda: 10**12).exhausted(0)
