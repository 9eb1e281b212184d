"""``StoreDecorator``: a store that wraps another and passes every call through.

The service wraps its store twice (``SpoolingStore`` for outages, ``BudgetedStore`` for the daily
command budget); each overrides only the calls it changes, so a method added to the ``Store``
protocol is written once here rather than once per wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.base import Store, TraceRecord, TraceSummary, Usage
from tracesink.store.pinning import Pin, PinBounds, PinOutcome


class StoreDecorator:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._store!r})"

    @property
    def display(self) -> str:
        return self._store.display

    @property
    def max_in_flight(self) -> int:
        return self._store.max_in_flight

    @property
    def shared(self) -> bool:
        return self._store.shared

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
        return await self._store.read_trace(trace_id, now_ms)

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        return await self._store.import_trace(trace_id, items, now_ms, replace)

    async def recent_traces(self, limit: int, now_ms: int) -> list[TraceSummary]:
        return await self._store.recent_traces(limit, now_ms)

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        return await self._store.pin(trace_id, until_ms, now_ms, bounds)

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        return await self._store.unpin(trace_id, now_ms)

    async def pins(self, now_ms: int) -> list[Pin]:
        return await self._store.pins(now_ms)

    async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
        await self._store.link_requests(links, now_ms)

    async def traces_of_requests(self, request_ids: Sequence[str], now_ms: int) -> dict[str, str]:
        return await self._store.traces_of_requests(request_ids, now_ms)

    async def ping(self) -> None:
        await self._store.ping()

    async def publish_commands(self, now_ms: int) -> None:
        await self._store.publish_commands(now_ms)

    async def close(self) -> None:
        await self._store.close()
