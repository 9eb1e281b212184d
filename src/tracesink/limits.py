"""Sliding-window rate-limit math: pure functions, mirrored in ``store/lua/write_batch.lua``.

Each level (global, the entry's system, the entry's trace) keeps a counter per fixed window; the
count that is checked is the previous window's count weighted by how much of it still overlaps
the sliding window, plus the current count. That removes the double burst a fixed window allows at
its edge, and costs two integers per level.

All arithmetic is on integers (milliseconds), scaled by the window length, so that Python and Lua
(whose numbers are doubles, exact below 2**53) reach the same decision for every input.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

import msgspec

from tracesink.rules import DEFAULTS, EXPIRY_SLACK_FRACTION  # slack: ttl/10 past ttl

LIMIT_LEVELS = ("global", "system", "trace")


@dataclass(frozen=True, slots=True)
class Policy:
    """The limits every store enforces, in one place."""

    global_limit: int
    trace_limit: int
    system_limits: Mapping[str, int]
    window_ms: int
    ttl_ms: int
    # Put before every key a store writes (TRACESINK_KEY_PREFIX): deployments sharing a database.
    key_prefix: str = ""
    # Count every instance's commands per UTC day in the store (TRACESINK_MAX_COMMANDS_PER_DAY).
    shared_budget: bool = False
    # The most items a trace's list keeps (TRACESINK_MAX_TRACE_ENTRIES); the oldest go beyond.
    max_trace_entries: int = DEFAULTS.max_trace_entries

    @property
    def expiry_slack_ms(self) -> int:
        """How much longer than ``ttl_ms`` after its last write a trace may live: a list's expiry
        is refreshed only once per slack, not on every write (docs/keys.md)."""
        return self.ttl_ms // EXPIRY_SLACK_FRACTION

    def levels(self, trace_id: str, system: str) -> list[tuple[str, str, int]]:
        """(level name, counter field, limit) for each level that applies to an entry."""
        levels = [("global", "g", self.global_limit)]
        system_limit = self.system_limits.get(system)
        if system_limit is not None:
            levels.append(("system", "s:" + system, system_limit))
        levels.append(("trace", "t:" + trace_id, self.trace_limit))
        return levels


# One is built per entry: a msgspec Struct's __init__ is C, half the cost of a slots dataclass's
# (20 from a script's reply: 930 -> 460 ns an entry, timeit, issue 27); not tracked by the
# collector (gc=False: it holds strings, ints and a dict of ints, never a cycle), 365 ns. Not
# frozen: a frozen Struct hashes its fields, and ``remaining`` is a dict.
class Decision(msgspec.Struct, gc=False):
    """The outcome for one entry: admitted when ``limited_by`` is None."""

    limited_by: str | None
    remaining: Mapping[str, int]  # per level name, after this decision
    retry_after_ms: int = 0
    queued: bool = False  # admitted while the store was unreachable: spooled, not yet stored

    @property
    def admitted(self) -> bool:
        return self.limited_by is None

    @property
    def remaining_quota(self) -> int:
        return 0 if self.limited_by else min(self.remaining.values())


def window_of(now_ms: int, window_ms: int) -> tuple[int, int]:
    """(index of the current fixed window, milliseconds elapsed in it)."""
    return now_ms // window_ms, now_ms % window_ms


def has_room(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int) -> bool:
    """True when one more entry keeps the weighted count within ``limit``."""
    return prev * (window_ms - elapsed_ms) + (curr + 1) * window_ms <= limit * window_ms


def remaining(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int) -> int:
    """How many more entries fit right now."""
    room = limit * window_ms - prev * (window_ms - elapsed_ms) - curr * window_ms
    return max(0, room // window_ms)


def retry_after_ms(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int) -> int:
    """Milliseconds until one more entry fits, if nothing else is admitted meanwhile."""
    if curr + 1 <= limit:
        # Room appears once the previous window's weight has decayed far enough:
        # prev * (W - e) <= (limit - curr - 1) * W.
        if prev == 0:
            return 0
        needed = window_ms - ((limit - curr - 1) * window_ms) // prev
        return max(0, needed - elapsed_ms)
    # This window is full: in the next one, today's count becomes the decaying previous count.
    needed = window_ms - ((limit - 1) * window_ms) // curr if curr else 0
    return (window_ms - elapsed_ms) + max(0, needed)


def decide(
    entries: Sequence[tuple[str, str]],
    prev: Mapping[str, int],
    curr: MutableMapping[str, int],
    elapsed_ms: int,
    policy: Policy,
) -> list[Decision]:
    """Decide each (trace_id, system) in order; admitted entries are counted into ``curr``.

    Admission is all-or-nothing: an entry is admitted only if every level has room, and only
    then is every level's counter consumed. A refused entry consumes nothing.
    """
    window = policy.window_ms
    decisions: list[Decision] = []
    for trace_id, system in entries:
        levels = policy.levels(trace_id, system)
        full = [
            (name, field, limit)
            for name, field, limit in levels
            if not has_room(prev.get(field, 0), curr.get(field, 0), elapsed_ms, window, limit)
        ]
        if not full:
            for _, field, _ in levels:
                curr[field] = curr.get(field, 0) + 1
        left = {
            name: remaining(prev.get(field, 0), curr.get(field, 0), elapsed_ms, window, limit)
            for name, field, limit in levels
        }
        if full:
            wait = max(
                retry_after_ms(prev.get(f, 0), curr.get(f, 0), elapsed_ms, window, lim)
                for _, f, lim in full
            )
            decisions.append(Decision(full[0][0], left, wait))
        else:
            decisions.append(Decision(None, left))
    return decisions


class LocalCounters:
    """Window counters held in this process: the memory store's, and any store's during an outage.

    Keeps the current and previous window only, exactly what the sliding window reads.
    """

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._windows: dict[int, dict[str, int]] = {}

    def decide(self, entries: Sequence[tuple[str, str]], now_ms: int) -> list[Decision]:
        index, elapsed = window_of(now_ms, self._policy.window_ms)
        for old in [i for i in self._windows if i < index - 1]:
            del self._windows[old]
        curr = self._windows.setdefault(index, {})
        return decide(entries, self._windows.get(index - 1, {}), curr, elapsed, self._policy)

    def snapshot(self, now_ms: int) -> tuple[int, dict[str, int]]:
        """The current window's counters, to ``restore`` if what they counted was not kept."""
        index, _ = window_of(now_ms, self._policy.window_ms)
        return index, dict(self._windows.get(index, {}))

    def restore(self, snapshot: tuple[int, dict[str, int]]) -> None:
        index, counters = snapshot
        self._windows[index] = counters

    def count(self, entries: Sequence[tuple[str, str]], now_ms: int) -> None:
        """Count entries admitted elsewhere (replayed after an outage) without deciding them."""
        index, _ = window_of(now_ms, self._policy.window_ms)
        curr = self._windows.setdefault(index, {})
        for trace_id, system in entries:
            for _, field, _ in self._policy.levels(trace_id, system):
                curr[field] = curr.get(field, 0) + 1
