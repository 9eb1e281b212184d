"""The budget guard: ``TRACESINK_MAX_COMMANDS_PER_DAY`` bounds every store command of a UTC day.

Ingest stops first, at ``100 - TRACESINK_READ_RESERVE`` percent of the budget (429,
``limited_by: budget``); the rest is kept for reads, the health probe and the live poll, so a
developer can still look at what an exhausted ingest stored. Once the whole budget is spent,
those stop too (429 naming the budget, ``Retry-After`` until midnight UTC) and nothing is sent
until the day rolls over.

It counts every instance's commands on the database when the store keeps a shared daily count
(``shared``: the Redis-protocol stores carry it in each batch's script call, and an instance with
commands no write carried publishes them itself: ``accounting/publisher.py``), else this
instance's (what ``Store.usage`` reports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

DAY_MS = 86_400_000


@dataclass(slots=True)
class CommandBudget:
    limit: int | None  # None: no budget
    commands: Callable[[], int]
    # The UTC day's commands of every instance, when the store counts them (None: not known).
    shared: Callable[[int], int | None] = field(default=lambda day: None)
    read_reserve_pct: int = 0  # percent of the budget only reads may spend
    _day: int = -1
    _at_day_start: int = 0

    def _roll(self, now_ms: int) -> None:
        day = now_ms // DAY_MS
        if day != self._day:
            self._day, self._at_day_start = day, self.commands()

    def used_today(self, now_ms: int) -> int:
        self._roll(now_ms)
        local = self.commands() - self._at_day_start
        shared = self.shared(now_ms // DAY_MS)
        return local if shared is None else max(shared, local)

    @property
    def ingest_limit(self) -> int | None:
        """Where ingest stops: the budget less the reads' reserve (at least one command)."""
        if self.limit is None:
            return None
        return max(1, self.limit * (100 - self.read_reserve_pct) // 100)

    def exhausted(self, now_ms: int) -> bool:
        """Ingest's share is spent: refuse entries."""
        ingest_limit = self.ingest_limit
        return ingest_limit is not None and self.used_today(now_ms) >= ingest_limit

    def spent(self, now_ms: int) -> bool:
        """The whole budget is spent: send nothing at all (reads, probes, polls) today."""
        return self.limit is not None and self.used_today(now_ms) >= self.limit

    @staticmethod
    def seconds_to_reset(now_ms: int) -> int:
        return -(-(DAY_MS - now_ms % DAY_MS) // 1000)
