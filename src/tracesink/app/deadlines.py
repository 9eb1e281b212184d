"""Body-read deadlines with one timer for all requests, instead of one per request.

``asyncio.timeout`` costs ~5-10 us per request (a timer handle scheduled and cancelled), a
tenth of the ingest path's budget. Every body read has the same timeout, so reads that start
later also end their allowance later: an insertion-ordered dict is sorted by deadline, and one
sweeper, running only while reads are in flight, cancels the overdue ones from its front. The
price is resolution: a read is cut off within ``SWEEP_EVERY_S`` after its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

SWEEP_EVERY_S = 0.25


class BodyDeadlines:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._reads: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Raise TimeoutError in the guarded block if it outlives the timeout."""
        task = asyncio.current_task()
        if task is None:  # not in a task: nothing to cancel, so no deadline
            yield
            return
        loop = asyncio.get_running_loop()
        self._reads[task] = loop.time() + self.timeout_s
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep)
        try:
            yield
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            raise TimeoutError from None
        finally:
            self._reads.pop(task, None)

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, deadline in list(self._reads.items()):
            if deadline > now:
                break
            del self._reads[task]
            self._expired.add(task)
            task.cancel()
        self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep) if self._reads else None
