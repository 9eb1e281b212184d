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


def test_ingest_stops_at_its_share_and_everything_at_the_whole_budget() -> None:
    """With a 10 % read reserve, ingest is exhausted at 90 % of the budget while reads may
    go on; at 100 % everything is spent."""
    spent = [0]
    budget = CommandBudget(1000, lambda: spent[0], read_reserve_pct=10)
    assert budget.ingest_limit == 900
    assert budget.used_today(0) == 0  # the day starts here
    spent[0] = 899
    assert not budget.exhausted(0)
    spent[0] = 900
    assert budget.exhausted(0)
    assert not budget.spent(0)
    spent[0] = 1000
    assert budget.spent(0)


def test_the_shared_count_decides_for_reads_too() -> None:
    """Every instance's commands (the shared count) decide when reads stop, not only this
    instance's own."""
    budget = CommandBudget(100, lambda: 0, lambda day: 100, read_reserve_pct=50)
    assert budget.spent(0)
    assert not CommandBudget(None, lambda: 0, lambda day: 10**9).spent(0)
