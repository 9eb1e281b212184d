"""Body-read deadlines with one timer for all requests, instead of one per request.

``asyncio.timeout`` costs ~5-10 us per request (a timer handle scheduled and cancelled), a
tenth of the ingest path's budget. Every body read has the same timeout, so reads that start
later also end their allowance later: an insertion-ordered dict is sorted by deadline, and one
sweeper, running only while reads are in flight, cancels the overdue ones from its front. The
price is resolution: a read is cut off within ``SWEEP_EVERY_S`` after its deadline.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

SWEEP_EVERY_S = 0.25


class BodyDeadlines:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._reads: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    def guard(self) -> _Guard:
        """Raise TimeoutError in the guarded block if it outlives the timeout."""
        return _Guard(self)

    def _start(self, task: asyncio.Task[object]) -> None:
        loop = asyncio.get_running_loop()
        self._reads[task] = loop.time() + self.timeout_s
        if self._sweeper is None:
            self._sweeper = loop.call_later(SWEEP_EVERY_S, self._sweep)

    def _end(self, task: asyncio.Task[object], cancelled: bool) -> bool:
        """The read is over; True when it was cancelled because its deadline passed."""
        self._reads.pop(task, None)
        if cancelled and task in self._expired:
            self._expired.discard(task)
            task.uncancel()
            return True
        return False

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


class _Guard:
    """``BodyDeadlines.guard``'s context manager: a class, not ``contextlib.contextmanager``,
    whose generator machinery cost about as much as the deadline itself, once per request."""

    __slots__ = ("_deadlines", "_task")

    def __init__(self, deadlines: BodyDeadlines) -> None:
        self._deadlines = deadlines
        self._task: asyncio.Task[object] | None = None

    def __enter__(self) -> None:
        self._task = asyncio.current_task()
        if self._task is not None:  # not in a task: nothing to cancel, so no deadline
            self._deadlines._start(self._task)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            cancelled = kind is not None and issubclass(kind, asyncio.CancelledError)
            if self._deadlines._end(self._task, cancelled):
                raise TimeoutError from None
