"""The sliding-window math and the batch decision, without any store or clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracesink.limits import Policy, decide, has_room, remaining, retry_after_ms, window_of

W = 3_600_000
POLICY = Policy(
    global_limit=1000,
    trace_limit=100,
    system_limits={"browser": 400, "worker": 300, "convex": 300},
    window_ms=W,
    ttl_ms=W,
)


def test_window_of_splits_time_into_index_and_elapsed() -> None:
    """A timestamp maps to its fixed window and how far into it we are."""
    assert window_of(2 * W + 5, W) == (2, 5)


def test_previous_window_weighs_by_its_remaining_overlap() -> None:
    """Half-way through a window, half of the previous window's count still counts."""
    assert remaining(prev=100, curr=0, elapsed_ms=W // 2, window_ms=W, limit=100) == 50
    assert has_room(prev=100, curr=49, elapsed_ms=W // 2, window_ms=W, limit=100)
    assert not has_room(prev=100, curr=50, elapsed_ms=W // 2, window_ms=W, limit=100)


def test_no_double_burst_at_the_window_edge() -> None:
    """A full window followed at once by a new one admits nothing more: no 2x burst at the edge."""
    assert not has_room(prev=100, curr=0, elapsed_ms=0, window_ms=W, limit=100)
    assert remaining(prev=100, curr=0, elapsed_ms=1, window_ms=W, limit=100) == 0


def test_retry_after_is_zero_when_there_is_room() -> None:
    """An entry that fits needs no waiting."""
    assert retry_after_ms(prev=0, curr=10, elapsed_ms=0, window_ms=W, limit=100) == 0


def test_retry_after_for_a_full_window_reaches_into_the_next() -> None:
    """A full current window frees room only after it ends and its weight starts decaying."""
    wait = retry_after_ms(prev=0, curr=100, elapsed_ms=W - 1000, window_ms=W, limit=100)
    assert wait == 1000 + W // 100
    after = W - 1000 + wait
    index, elapsed = window_of(after, W)
    assert index == 1
    assert has_room(prev=100, curr=0, elapsed_ms=elapsed, window_ms=W, limit=100)
    assert not has_room(prev=100, curr=0, elapsed_ms=elapsed - 1, window_ms=W, limit=100)


@given(
    prev=st.integers(0, 500),
    curr=st.integers(0, 500),
    elapsed=st.integers(0, W - 1),
    limit=st.integers(1, 400),
)
def test_retry_after_is_exactly_when_room_appears(
    prev: int, curr: int, elapsed: int, limit: int
) -> None:
    """Waiting retry_after_ms gives room, and one millisecond less does not (if waiting at all)."""
    wait = retry_after_ms(prev, curr, elapsed, W, limit)

    def room_after(ms: int) -> bool:
        at = elapsed + ms
        if at < W:
            return has_room(prev, curr, at, W, limit)
        if at < 2 * W:
            return has_room(curr, 0, at - W, W, limit)
        return has_room(0, 0, at - 2 * W, W, limit)

    assert room_after(wait)
    if wait > 0:
        assert not room_after(wait - 1)


def test_decide_admits_exactly_the_trace_limit() -> None:
    """150 entries for one trace: exactly the first 100 are admitted, the rest limited by trace."""
    curr: dict[str, int] = {}
    decisions = decide([("t", "manual")] * 150, {}, curr, 0, POLICY)
    assert [d.admitted for d in decisions] == [True] * 100 + [False] * 50
    assert {d.limited_by for d in decisions[100:]} == {"trace"}
    assert curr == {"g": 100, "t:t": 100}


def test_decide_refuses_the_401st_browser_entry() -> None:
    """Browser holds 40 % of a global 1000: entry 401 is refused by the system level."""
    entries = [(f"t{i}", "browser") for i in range(401)]
    decisions = decide(entries, {}, {}, 0, POLICY)
    assert all(d.admitted for d in decisions[:400])
    assert decisions[400].limited_by == "system"


def test_refused_entries_consume_nothing() -> None:
    """A refusal at any level leaves every counter as it was."""
    curr = {"g": 5, "s:browser": 400, "t:t": 3}
    before = dict(curr)
    [decision] = decide([("t", "browser")], {}, curr, 0, POLICY)
    assert decision.limited_by == "system"
    assert curr == before


def test_first_full_level_is_reported_and_retry_covers_all_full_levels() -> None:
    """Global and trace both full: limited_by names global, Retry-After covers the longer wait."""
    curr = {"g": 1000, "t:t": 100}
    prev = {"g": 0, "t:t": 0}
    [decision] = decide([("t", "manual")], prev, curr, W - 10, POLICY)
    assert decision.limited_by == "global"
    assert decision.retry_after_ms == retry_after_ms(0, 100, W - 10, W, 100)
    assert decision.remaining_quota == 0


def test_manual_entries_have_no_system_level() -> None:
    """`manual` counts against the global and trace levels only."""
    [decision] = decide([("t", "manual")], {}, {}, 0, POLICY)
    assert set(decision.remaining) == {"global", "trace"}
    assert decision.remaining_quota == 99
