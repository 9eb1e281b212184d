"""The group-commit writer: entries from many concurrent requests share one store step.

When no flush is in flight, a submission starts one at once (lowest latency at low load). While a
flush is in flight, submissions gather; when it returns, they go together, up to ``max_batch``
entries a step. Under load batches grow by themselves, with no timer to tune. A request's entries
always travel in one step, and its ``submit`` returns only when that step has been stored (or
raises what the store raised), so an acknowledged entry is never lost. ``max_queue`` bounds what
may wait: past it, ``submit`` raises ``Overloaded`` at once instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import deque
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
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._clock = clock
        self._pending: deque[_Pending] = deque()
        self._queued = 0
        self._flusher: asyncio.Task[None] | None = None
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
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_while_pending())
        # A client that goes away cancels only this future, never the step its entries are in:
        # they are stored all the same (the flush skips futures already done).
        try:
            return await future
        finally:
            # A failure's traceback holds this frame: it must not hold the future (and so the
            # failure) in turn, or every failed request leaves a cycle for the collector.
            del future

    async def _flush_while_pending(self) -> None:
        try:
            while self._pending:
                taken = self._take_batch()
                await self._flush(taken)
        finally:
            self._flusher = None

    def _take_batch(self) -> list[_Pending]:
        taken = [self._pending.popleft()]
        size = len(taken[0][0])
        while self._pending and size + len(self._pending[0][0]) <= self._max_batch:
            size += len(self._pending[0][0])
            taken.append(self._pending.popleft())
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
        while self._flusher is not None:
            await asyncio.shield(self._flusher)


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
