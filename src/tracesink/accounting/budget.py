"""The budget guard: past ``TRACESINK_MAX_COMMANDS_PER_DAY`` store commands in a UTC day, ingest
is refused (429, ``limited_by: budget``) until the day rolls over.

It counts every instance's commands on the database when the store keeps a shared daily count
(``shared``: the Redis-protocol stores do it inside each batch's script call, at no extra
command), else this instance's (what ``Store.usage`` reports). Reads are not refused: a developer
can still look at what is stored.
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

    def exhausted(self, now_ms: int) -> bool:
        return self.limit is not None and self.used_today(now_ms) >= self.limit

    @staticmethod
    def seconds_to_reset(now_ms: int) -> int:
        return -(-(DAY_MS - now_ms % DAY_MS) // 1000)
