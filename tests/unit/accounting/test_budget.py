"""The daily command budget: counted per UTC day, refusing once spent."""

from __future__ import annotations

from tracesink.accounting.budget import DAY_MS, CommandBudget


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
