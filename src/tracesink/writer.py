"""The group-commit writer: entries from many concurrent requests share one store step.

When no flush is in flight, a submission starts one at once (lowest latency at low load). While a
flush is in flight, submissions gather; when it returns, they go together, up to ``max_batch``
entries a step. Under load batches grow by themselves, with no timer to tune. A request's entries
always travel in one step, and its ``submit`` returns only when that step has been stored (or
raises what the store raised), so an acknowledged entry is never lost. ``max_queue`` bounds what
may wait: past it, ``submit`` raises ``Overloaded`` at once instead of queueing without end.

``max_in_flight`` > 1 lets further steps start while one is in flight (a store whose round trip
is long, such as HTTP, then waits less). Steps in flight never share a trace: a submission that
touches a trace in flight waits, and so does every later one touching any of its traces, so a
trace's entries reach the store in the order they were submitted.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence

from tracesink.errors import Overloaded
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.base import Store, new_batch_id

# Decisions for a submission's entries, and the time (ms) they were made at.
Decided = tuple[list[Decision], int]
_Pending = tuple[Sequence[PreparedEntry], "asyncio.Future[Decided]"]
FlushObserver = Callable[[int, float, bool], None]  # (entries, seconds, failed) per store step


def _ignore_flush(size: int, seconds: float, failed: bool) -> None:
    return None


class Writer:
    def __init__(
        self,
        store: Store,
        *,
        max_batch: int,
        max_queue: int,
        clock: Callable[[], float] = time.time,
        on_flush: FlushObserver | None = None,
        max_in_flight: int = 1,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._pending: deque[_Pending] = deque()
        self._queued = 0
        self._flushers: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()  # trace id -> steps in flight holding it
        self.batches = 0  # store steps taken, for tests and metrics
        self._observe = on_flush or _ignore_flush

    @property
    def queued(self) -> int:
        """Entries accepted by ``submit`` and not yet handed to the store."""
        return self._queued

    async def submit(self, entries: Sequence[PreparedEntry]) -> Decided:
        """Store ``entries`` in the next step; their decisions, in order, and the step's time."""
        if self._queued + len(entries) > self._max_queue:
            raise Overloaded(f"the write queue is full ({self._max_queue} entries waiting)")
        future: asyncio.Future[Decided] = asyncio.get_running_loop().create_future()
        self._pending.append((entries, future))
        self._queued += len(entries)
        self._start_flushes()
        # A client that goes away cancels only this future, never the step its entries are in:
        # they are stored all the same (the flush skips futures already done).
        try:
            return await future
        finally:
            # A failure's traceback holds this frame: it must not hold the future (and so the
            # failure) in turn, or every failed request leaves a cycle for the collector.
            del future

    def _start_flushes(self) -> None:
        # A flusher takes its batch when it first runs: submissions made meanwhile join it.
        if self._pending and len(self._flushers) < self._max_in_flight:
            self._flushers.add(asyncio.create_task(self._flush_while_pending()))

    async def _flush_while_pending(self) -> None:
        try:
            while self._pending:
                taken = self._take_batch()
                if not taken:
                    return  # all that waits touches a trace in flight: that step resumes it
                # With one step at a time nothing can be in flight beside it: the traces it
                # holds matter only when several may be (a set per step costs ~1 us an entry).
                if self._max_in_flight == 1:
                    await self._flush(taken)
                    continue
                traces = {entry.trace_id for entries, _ in taken for entry in entries}
                self._in_flight.update(traces)
                try:
                    await self._flush(taken)
                finally:
                    self._in_flight.subtract(traces)
                    for trace_id in traces:
                        if self._in_flight[trace_id] <= 0:
                            del self._in_flight[trace_id]
        finally:
            # At once, with no await in between: a submission from now on starts a new one.
            task = asyncio.current_task()
            if task is not None:
                self._flushers.discard(task)

    def _take_batch(self) -> list[_Pending]:
        """Submissions in order, up to max_batch entries, none touching a trace in flight (nor
        one that an earlier waiting submission touches, which must go first)."""
        if not self._in_flight:
            taken = [self._pending.popleft()]
            size = len(taken[0][0])
            while self._pending and size + len(self._pending[0][0]) <= self._max_batch:
                size += len(self._pending[0][0])
                taken.append(self._pending.popleft())
            self._queued -= size
            return taken
        blocked = set(self._in_flight)
        taken, kept, size = [], deque[_Pending](), 0
        for pending in self._pending:
            traces = {entry.trace_id for entry in pending[0]}
            fits = size + len(pending[0]) <= self._max_batch or not taken
            if traces & blocked or not fits:
                blocked |= traces
                kept.append(pending)
            else:
                taken.append(pending)
                size += len(pending[0])
        self._pending = kept
        self._queued -= size
        return taken

    async def _flush(self, taken: list[_Pending]) -> None:
        batch = [entry for entries, _ in taken for entry in entries]
        started = time.perf_counter()
        now_ms = int(self._clock() * 1000)
        try:
            decisions = await self._store.write_batch(batch, now_ms, new_batch_id())
        except Exception as exc:  # every waiter learns what the store raised
            self._observe(len(batch), time.perf_counter() - started, True)
            for _, future in taken:
                if not future.done():
                    future.set_exception(_detached(exc))
            return
        finally:
            self.batches += 1
        self._observe(len(batch), time.perf_counter() - started, False)
        start = 0
        for entries, future in taken:
            if not future.done():
                future.set_result((decisions[start : start + len(entries)], now_ms))
            start += len(entries)

    async def drain(self) -> None:
        """Wait until everything submitted so far has been stored (or has failed)."""
        while self._flushers:
            await asyncio.shield(next(iter(self._flushers)))


def _detached(exc: Exception) -> Exception:
    """A copy of ``exc`` without its traceback, one per waiter.

    Shared, the one exception would be re-raised by every waiter, its traceback growing with each,
    and it would hold this flush's frame, whose ``taken`` holds the futures that hold it: a
    reference cycle per failed step that keeps whole batches in memory until the (deliberately
    rare) garbage collection. During an outage with a full spool that is every request.
    """
    try:
        return copy.copy(exc)
    except Exception:  # an exception type that cannot be copied: share it after all
        return exc
