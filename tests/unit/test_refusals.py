"""The refusal memory: a batch is refused without the store only when the counts it last heard
already refuse every entry, at the batch's own time; drops are held per trace as runs."""

from __future__ import annotations

from tracesink.limits import Policy, decide
from tracesink.store.refusals import RefusalMemory

POLICY = Policy(
    global_limit=100,
    trace_limit=10,
    system_limits={"browser": 40},
    window_ms=10_000,
    ttl_ms=60_000,
)
T0 = 1_700_000_000_000  # a window edge: T0 % 10_000 == 0


def test_nothing_known_means_ask_the_store() -> None:
    """With no reply heard yet, every batch goes to the script."""
    assert RefusalMemory(POLICY).decide([("a", "manual")], T0) is None


def test_a_spent_trace_is_refused_locally_with_the_scripts_decision() -> None:
    """Counts heard from a reply refuse the trace's next entries exactly as limits.decide does."""
    memory = RefusalMemory(POLICY)
    memory.learn(T0 + 5_000, [("g", 10, 0), ("t:a", 10, 0)])
    local = memory.decide([("a", "manual"), ("a", "manual")], T0 + 6_000)
    assert local == decide([("a", "manual")] * 2, {}, {"g": 10, "t:a": 10}, 6_000, POLICY)
    assert local is not None
    assert [d.limited_by for d in local] == ["trace", "trace"]


def test_a_batch_with_any_entry_that_might_fit_goes_to_the_store() -> None:
    """One entry of another trace may be admitted: the whole batch goes to the script."""
    memory = RefusalMemory(POLICY)
    memory.learn(T0 + 5_000, [("g", 10, 0), ("t:a", 10, 0)])
    assert memory.decide([("a", "manual"), ("b", "manual")], T0 + 6_000) is None


def test_at_the_window_edge_the_previous_window_weighs_by_its_overlap() -> None:
    """Ten admitted late in one window still refuse at the next one's start, and no longer once
    a tenth of them has slid out (the sliding window's own arithmetic, with the batch's time)."""
    memory = RefusalMemory(POLICY)
    memory.learn(T0 + 9_999, [("g", 10, 0), ("t:a", 10, 0)])
    assert memory.decide([("a", "manual")], T0 + 10_000) is not None
    assert memory.decide([("a", "manual")], T0 + 10_999) is not None
    assert memory.decide([("a", "manual")], T0 + 11_000) is None


def test_counts_only_grow_within_a_window() -> None:
    """An older (lower) reply never lowers what is known."""
    memory = RefusalMemory(POLICY)
    memory.learn(T0 + 1, [("t:a", 10, 0)])
    memory.learn(T0 + 2, [("t:a", 4, 0)])
    assert memory.decide([("a", "manual")], T0 + 3) is not None


def test_forget_after_the_server_lost_its_scripts() -> None:
    """After NOSCRIPT (a flushed or restarted server) nothing is refused locally any more."""
    memory = RefusalMemory(POLICY)
    memory.learn(T0 + 1, [("t:a", 10, 0)])
    memory.forget()
    assert memory.decide([("a", "manual")], T0 + 2) is None


def test_drops_are_held_as_one_run_per_trace_that_exists() -> None:
    """Refusals of a trace written within the TTL are held as one run; of one never written,
    nothing is held (no key may be created for them)."""
    memory = RefusalMemory(POLICY)
    memory.wrote(["a"], T0)
    assert memory.hold("a", "trace", T0 + 1)
    assert memory.hold("a", "global", T0 + 5)
    assert not memory.hold("never", "global", T0 + 5)
    assert not memory.hold("a-old", "global", T0 + 5)
    [(trace_id, run)] = memory.take(["a"], T0 + 6)
    assert trace_id == "a"
    assert (run.count, run.by["trace"], run.by["global"], run.first_ms, run.last_ms) == (
        2,
        1,
        1,
        T0 + 1,
        T0 + 5,
    )
    assert memory.pending == 0


def test_runs_are_due_after_the_flush_delay_and_come_back_when_unwritten() -> None:
    """take() returns the runs asked for and those older than the delay; give_back() merges a
    run that could not be written with one held since."""
    memory = RefusalMemory(POLICY)
    memory.wrote(["a"], T0)
    memory.wrote(["b"], T0)
    memory.hold("a", "trace", T0)
    assert memory.take([], T0 + memory.flush_delay_ms - 1) == []
    runs = memory.take([], T0 + memory.flush_delay_ms)
    assert [t for t, _ in runs] == ["a"]
    memory.hold("a", "trace", T0 + 3_000)
    memory.give_back(runs)
    [(_, run)] = memory.take(["a"], T0 + 3_001)
    assert (run.count, run.first_ms, run.last_ms) == (2, T0, T0 + 3_000)
