"""``BudgetedStore``: the store as the service sees it once a daily command budget is set.

Ingest is refused by the pipeline at its share of the budget (``CommandBudget.exhausted``); this
decorator refuses everything else that would send a command (reads, the live poll, the health
probe, publishing the count) once the whole budget is spent, with ``BudgetSpent`` (429 naming
the budget, Retry-After until midnight UTC). Writes pass: the pipeline has decided them, and a
spool replay or a held drop marker is owed for what was already acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tracesink.accounting.budget import CommandBudget
from tracesink.errors import BudgetSpent
from tracesink.store.base import Store, TraceRecord, TraceSummary
from tracesink.store.decorator import StoreDecorator
from tracesink.store.pinning import Pin, PinBounds, PinOutcome


class BudgetedStore(StoreDecorator):
    def __init__(
        self, store: Store, budget: CommandBudget, now_ms: Callable[[], int], name: str
    ) -> None:
        super().__init__(store)
        self._budget = budget
        self._now_ms = now_ms
        self._name = name  # the budget's setting, as the user named it

    def check(self) -> None:
        """Raise BudgetSpent when the whole daily budget is spent."""
        now_ms = self._now_ms()
        if self._budget.spent(now_ms):
            raise BudgetSpent(
                f"the daily store command budget ({self._name}={self._budget.limit}) is spent: "
                "nothing more is sent to the store until midnight UTC",
                self._budget.seconds_to_reset(now_ms),
            )

    # Writes, the Convex request map and closing pass (StoreDecorator): the pipeline has
    # decided them against ingest's share, and a replay or a held marker is owed.

    async def read_trace(self, trace_id: str, now_ms: int) -> TraceRecord | None:
        self.check()
        return await self._store.read_trace(trace_id, now_ms)

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        # Not ingest (no share of its own): refused, as reads are, once all of it is spent.
        self.check()
        return await self._store.import_trace(trace_id, items, now_ms, replace)

    async def recent_traces(self, limit: int, now_ms: int) -> list[TraceSummary]:
        self.check()
        return await self._store.recent_traces(limit, now_ms)

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        self.check()
        return await self._store.pin(trace_id, until_ms, now_ms, bounds)

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        self.check()
        return await self._store.unpin(trace_id, now_ms)

    async def pins(self, now_ms: int) -> list[Pin]:
        self.check()
        return await self._store.pins(now_ms)

    async def ping(self) -> None:
        self.check()
        await self._store.ping()

    async def publish_commands(self, now_ms: int) -> None:
        self.check()
        await self._store.publish_commands(now_ms)
