"""``BudgetedStore``: the store as the service sees it once a daily command budget is set.

Ingest is refused by the pipeline at its share of the budget (``CommandBudget.exhausted``); this
decorator refuses everything else that would send a command (reads, the live poll, the health
probe, publishing the count) once the whole budget is spent, with ``BudgetSpent`` (429 naming
the budget, Retry-After until midnight UTC). Writes pass: the pipeline has decided them, and a
spool replay or a held drop marker is owed for what was already acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tracesink.accounting.budget import CommandBudget
from tracesink.errors import BudgetSpent
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.base import Store, TraceRecord, TraceSummary, Usage
from tracesink.store.pinning import Pin, PinBounds, PinOutcome


class BudgetedStore:
    def __init__(
        self, store: Store, budget: CommandBudget, now_ms: Callable[[], int], name: str
    ) -> None:
        self._store = store
        self._budget = budget
        self._now_ms = now_ms
        self._name = name  # the budget's setting, as the user named it

    def __repr__(self) -> str:
        return f"BudgetedStore({self._store!r})"

    def check(self) -> None:
        """Raise BudgetSpent when the whole daily budget is spent."""
        now_ms = self._now_ms()
        if self._budget.spent(now_ms):
            raise BudgetSpent(
                f"the daily store command budget ({self._name}={self._budget.limit}) is spent: "
                "nothing more is sent to the store until midnight UTC",
                self._budget.seconds_to_reset(now_ms),
            )

    @property
    def max_in_flight(self) -> int:
        return self._store.max_in_flight

    @property
    def shared(self) -> bool:
        return self._store.shared

    @property
    def display(self) -> str:
        return self._store.display

    @property
    def usage(self) -> Usage:
        return self._store.usage

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        return await self._store.write_batch(entries, now_ms, batch_id)

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        return await self._store.replay_batch(batch_id, entries, written_ms, now_ms)

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

    async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
        # Ingest's own commands: its callers stop them at ingest's share of the budget.
        await self._store.link_requests(links, now_ms)

    async def traces_of_requests(self, request_ids: Sequence[str], now_ms: int) -> dict[str, str]:
        return await self._store.traces_of_requests(request_ids, now_ms)

    async def ping(self) -> None:
        self.check()
        await self._store.ping()

    async def publish_commands(self, now_ms: int) -> None:
        self.check()
        await self._store.publish_commands(now_ms)

    async def close(self) -> None:
        await self._store.close()
