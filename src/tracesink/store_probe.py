"""``StoreProbe``: whether the store answers, for ``GET /health``, at one command per interval.

``/health`` is public: a command per caller would let anyone spend the daily budget (4,000 calls
in 0.6 s spent a 3,000-command budget, issue 21). So callers share the last probe's answer while
it is fresh, concurrent callers share one probe in flight, and none is sent once the whole
budget is spent (the last answer stands until midnight UTC).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# A probe's answer is reused this long; a failure only briefly, so that a recovered store shows
# as recovered within a second or so.
PROBE_EVERY_S = 10.0
FAILED_PROBE_EVERY_S = 1.0
# With a daily budget, probes spend at most this share of it, however often /health is called.
PROBE_BUDGET_SHARE = 0.05
# What one probe costs an instance that does nothing else: the PING, and publishing it to the
# shared daily count (count_day.lua: three commands in an active window).
PROBE_COMMANDS = 4
DAY_S = 86_400


def probe_interval_s(max_commands_per_day: int) -> float:
    """Seconds between probes: ``PROBE_EVERY_S``, longer when a small daily budget would
    otherwise spend more than ``PROBE_BUDGET_SHARE`` of itself on them."""
    if max_commands_per_day <= 0:
        return PROBE_EVERY_S
    probes_per_day = max_commands_per_day * PROBE_BUDGET_SHARE / PROBE_COMMANDS
    return max(PROBE_EVERY_S, DAY_S / probes_per_day)


class StoreProbe:
    def __init__(
        self,
        ping: Callable[[], Awaitable[None]],
        interval_s: float,
        allowed: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ping = ping
        self.interval_s = interval_s
        self._allowed = allowed  # False: the budget is spent, send nothing
        self._clock = clock
        self._at: float | None = None  # when the last probe answered
        self._error: str | None = None  # its failure (the exception's type name), or None
        self._in_flight: asyncio.Task[str | None] | None = None
        self.sent = 0  # probes sent since start

    async def check(self) -> str | None:
        """None when the store answered the last (fresh) probe, else what it failed with."""
        if self._in_flight is None:
            if self._fresh() or not self._allowed():
                return self._error
            self._in_flight = asyncio.create_task(self._probe())
        # Shielded: a caller that goes away must not cancel the probe the others wait for.
        return await asyncio.shield(self._in_flight)

    def _fresh(self) -> bool:
        if self._at is None:
            return False
        ttl = self.interval_s if self._error is None else FAILED_PROBE_EVERY_S
        return self._clock() - self._at < ttl

    async def _probe(self) -> str | None:
        self.sent += 1
        try:
            await self._ping()
            error = None
        except Exception as exc:  # any failure to reach the store is a status, never a 500
            error = type(exc).__name__
        finally:
            self._in_flight = None
        self._at, self._error = self._clock(), error
        return error
