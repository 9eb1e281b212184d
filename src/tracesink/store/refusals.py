"""Refusals without a command: what a script store knows of the shared counters, and the drops it
has not written yet.

Every ``write_batch.lua`` reply carries the counts of the fields it read (this window's after the
batch, and the previous window's). Within a window the shared counts only grow, and the previous
window's are final, so what this process last heard is a lower bound of the truth. A batch that
``limits.decide`` refuses entirely on those lower bounds is refused on the true counts too (the
check only gets stricter as counts grow, and a refusal consumes nothing): it is answered here,
at no cost, until the sliding window could admit again. That is recomputed for every batch with
its own ``now``, so the previous window's weight decaying at a window edge is taken into account
exactly as the script would. A batch with any entry that might fit goes to the script, whose
decisions are the only ones that ever admit.

With one process the lower bounds are the counts, so a local refusal is the script's decision
field for field; with several, a local refusal is still exact, but ``remaining`` and
``retry_after_ms`` may be the (more hopeful) ones this process last knew.

Drops refused here are held as one run per trace (``DropRun``: counts per level, first and last
time) and written by the store with the trace's next script call, or within ``flush_delay_ms``,
if the trace has a list as far as this process knows (it saw a script write to it within the
TTL); otherwise they are only counted (``Usage.drops_unmarked``), so no key is created and a
flood of new trace ids costs nothing. With several instances, a trace only another instance has
written gets no marker for this instance's local refusals (the script's own refusals are marked).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field

from tracesink.limits import LIMIT_LEVELS, Decision, Policy, decide, window_of
from tracesink.model import PreparedEntry

# Pending drops are written at least this often (and sooner when the TTL is short).
FLUSH_DELAY_MS = 2_000


@dataclass(slots=True)
class DropRun:
    """Consecutive refusals of one trace, not yet in its list."""

    first_ms: int
    last_ms: int
    by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIMIT_LEVELS, 0))

    @property
    def count(self) -> int:
        return sum(self.by.values())

    def add(self, level: str, now_ms: int, count: int = 1) -> None:
        self.by[level] += count
        self.last_ms = max(self.last_ms, now_ms)

    def merge(self, later: DropRun) -> None:
        for level, n in later.by.items():
            self.by[level] += n
        self.first_ms = min(self.first_ms, later.first_ms)
        self.last_ms = max(self.last_ms, later.last_ms)


class RefusalMemory:
    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._known: dict[int, dict[str, int]] = {}  # window index -> field -> lower bound
        self._pending: dict[str, DropRun] = {}  # trace id -> drops not written yet
        # trace id -> until when its list surely exists (ttl after a write this process saw)
        self._exists_until: dict[str, int] = {}
        self._latest_until = 0  # the latest time in ``_exists_until`` (or once was)
        self.flush_delay_ms = min(FLUSH_DELAY_MS, max(1, policy.expiry_slack_ms))

    # --- what the script said ---------------------------------------------------------------

    def learn(self, now_ms: int, counts: Iterable[tuple[str, int, int]]) -> None:
        """Counts a script read at ``now_ms``: (field, this window's, the previous window's)."""
        index, _ = window_of(now_ms, self._policy.window_ms)
        stale = [i for i in self._known if i < index - 1]
        for old in stale:
            del self._known[old]
        if stale:  # once a window: forget traces whose lists have surely expired
            for trace_id in [t for t, until in self._exists_until.items() if until <= now_ms]:
                del self._exists_until[trace_id]
        curr = self._known.setdefault(index, {})
        prev = self._known.setdefault(index - 1, {})
        for name, in_curr, in_prev in counts:
            if in_curr > curr.get(name, 0):
                curr[name] = in_curr
            if in_prev > prev.get(name, 0):
                prev[name] = in_prev

    def forget(self) -> None:
        """The server may have lost its counters (a flush, a restart): know nothing again."""
        self._known.clear()

    def decide(self, entries: Sequence[tuple[str, str]], now_ms: int) -> list[Decision] | None:
        """The batch's decisions when every entry is refused on what is known; else None."""
        return self._decide(entries[:1], lambda: entries, now_ms)

    def decide_entries(
        self, entries: Sequence[PreparedEntry], now_ms: int
    ) -> list[Decision] | None:
        """``decide`` for prepared entries: their (trace id, system) pairs are made only when the
        first entry is refused, which is rare (a pair an entry was ~0.1 us an entry)."""
        first = entries[0]
        return self._decide(
            [(first.trace_id, first.system)],
            lambda: [(e.trace_id, e.system) for e in entries],
            now_ms,
        )

    def _decide(
        self,
        first: Sequence[tuple[str, str]],
        every: Callable[[], Sequence[tuple[str, str]]],
        now_ms: int,
    ) -> list[Decision] | None:
        index, elapsed = window_of(now_ms, self._policy.window_ms)
        curr = self._known.get(index)
        prev = self._known.get(index - 1)
        if not curr and not prev:
            return None
        prev = prev or {}
        # Most batches are admitted: the first entry alone usually says so, at a tenth the cost.
        if decide(first, prev, self._touched(curr, first), elapsed, self._policy)[0].admitted:
            return None
        entries = every()
        decisions = decide(entries, prev, self._touched(curr, entries), elapsed, self._policy)
        if any(d.admitted for d in decisions):
            return None
        return decisions

    def _touched(
        self, curr: dict[str, int] | None, entries: Sequence[tuple[str, str]]
    ) -> dict[str, int]:
        """A copy of the window's counts of the fields ``entries`` touch, for ``decide`` to count
        into: not of the whole window, which holds a field for every trace it has seen."""
        if not curr:
            return {}
        return {
            field: curr[field]
            for trace_id, system in entries
            for _, field, _ in self._policy.levels(trace_id, system)
            if field in curr
        }

    # --- drops not written yet ----------------------------------------------------------------

    def wrote(self, trace_ids: Iterable[str], at_ms: int) -> None:
        """A script wrote to the traces' lists at ``at_ms``: they exist for ttl_ms from then."""
        until = at_ms + self._policy.ttl_ms
        exists_until = self._exists_until
        if until >= self._latest_until:
            # Later than every time held: each trace's becomes ``until``, set in C (the loop
            # below was ~0.2 us an entry on single entries, 64 traces a call).
            self._latest_until = until
            exists_until.update(dict.fromkeys(trace_ids, until))
            return
        for trace_id in trace_ids:
            if until > exists_until.get(trace_id, 0):
                exists_until[trace_id] = until

    def hold(self, trace_id: str, level: str, now_ms: int) -> bool:
        """Hold a drop to write later; False (nothing held) when the trace has no list as far
        as this process knows, so that a refusal never creates a key: the memory store's rule,
        and without it a flood of new trace ids would cost a lookup each."""
        run = self._pending.get(trace_id)
        if run is None:
            if self._exists_until.get(trace_id, 0) <= now_ms:
                return False
            self._pending[trace_id] = run = DropRun(now_ms, now_ms)
        run.add(level, now_ms)
        return True

    @property
    def pending(self) -> int:
        """Traces with drops not written yet."""
        return len(self._pending)

    def oldest_ms(self) -> int | None:
        return min((run.first_ms for run in self._pending.values()), default=None)

    def take(
        self, trace_ids: Iterable[str], now_ms: int, busy: Container[str] = ()
    ) -> list[tuple[str, DropRun]]:
        """The runs of ``trace_ids``, and every run that has waited ``flush_delay_ms`` unless
        its trace is ``busy`` (in a call in flight, which must land first); removed from here
        (``give_back`` returns them when they could not be written)."""
        if not self._pending:  # the usual case: no drops held, nothing to look up
            return []
        wanted = set(trace_ids)
        due = now_ms - self.flush_delay_ms
        taken = [
            (trace_id, run)
            for trace_id, run in self._pending.items()
            if trace_id in wanted or (run.first_ms <= due and trace_id not in busy)
        ]
        for trace_id, _ in taken:
            del self._pending[trace_id]
        return taken

    def take_all(self) -> list[tuple[str, DropRun]]:
        taken = list(self._pending.items())
        self._pending.clear()
        return taken

    def give_back(self, runs: Iterable[tuple[str, DropRun]]) -> None:
        for trace_id, run in runs:
            later = self._pending.get(trace_id)
            if later is not None:
                run.merge(later)
            self._pending[trace_id] = run
