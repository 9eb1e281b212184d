"""The bounded memory of stored Convex events: reserve, keep, release, forget."""

from __future__ import annotations

from tracesink.ingest.recent import RecentKeys


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_key_is_not_new_again() -> None:
    """Reserved then kept: a repeat (in this delivery or a later one) is not new."""
    recent = RecentKeys()
    assert recent.reserve([b"a", b"b", b"a"]) == [True, True, False]
    recent.keep([b"a", b"b"])
    assert recent.reserve([b"a", b"c"]) == [False, True]


def test_a_reserved_key_blocks_a_concurrent_copy_and_a_released_one_does_not() -> None:
    """While in flight a copy is refused; once released (storing failed) a retry may store it."""
    recent = RecentKeys()
    assert recent.reserve([b"a"]) == [True]
    assert recent.reserve([b"a"]) == [False]
    recent.release([b"a"])
    assert recent.reserve([b"a"]) == [True]


def test_memory_is_bounded_by_count_and_age() -> None:
    """Past max_keys the oldest is forgotten; past max_age_s every old key is."""
    clock = Clock()
    recent = RecentKeys(max_keys=2, max_age_s=10, clock=clock)
    recent.reserve([b"a", b"b", b"c"])
    recent.keep([b"a", b"b", b"c"])
    assert len(recent) == 2
    assert recent.reserve([b"a"]) == [True]
    clock.now = 11
    assert recent.reserve([b"b", b"c"]) == [True, True]
    assert len(recent) == 0
