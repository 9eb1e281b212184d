"""Several writer steps in flight: they never share a trace, so a trace's entries reach the store
in the order they were submitted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore
from tracesink.writer import Writer

POLICY = Policy(
    global_limit=10_000, trace_limit=10_000, system_limits={}, window_ms=60_000, ttl_ms=60_000
)


class HeldStore(MemoryStore):
    """Each write waits for its own release; records what each step held, in start order."""

    def __init__(self) -> None:
        super().__init__("memory://", POLICY)
        self.steps: list[list[str]] = []
        self.releases: list[asyncio.Event] = []

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        self.steps.append([e.id for e in entries])
        release = asyncio.Event()
        self.releases.append(release)
        await release.wait()
        return await super().write_batch(entries, now_ms, batch_id)


def entry(id_: str, trace: str) -> PreparedEntry:
    return PreparedEntry(id_, trace, "manual", b'{"m": 1}')


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_second_step_starts_while_one_is_in_flight_but_never_with_its_traces() -> None:
    """With two steps allowed, b (another trace) goes while a is in flight; a2 (a's trace) and
    c (after a2, sharing its request's other trace) wait for a's step, then go together."""
    store = HeldStore()
    writer = Writer(store, max_batch=100, max_queue=100, max_in_flight=2)
    first = asyncio.create_task(writer.submit([entry("a1", "a")]))
    await settle()
    second = asyncio.create_task(writer.submit([entry("b1", "b")]))
    later = asyncio.create_task(writer.submit([entry("a2", "a"), entry("x1", "x")]))
    last = asyncio.create_task(writer.submit([entry("x2", "x")]))
    await settle()
    assert store.steps == [["a1"], ["b1"]]
    store.releases[0].set()
    await settle()
    assert store.steps[2:] == [["a2", "x1", "x2"]]
    for release in store.releases:
        release.set()
    await asyncio.gather(first, second, later, last)
    await writer.drain()
    record = await store.read_trace("a", 0)
    assert record is not None
    assert len(record.items) == 2


async def test_one_step_at_a_time_by_default() -> None:
    """max_in_flight 1 (the default): what arrives during a step waits for it, then goes
    together."""
    store = HeldStore()
    writer = Writer(store, max_batch=100, max_queue=100)
    first = asyncio.create_task(writer.submit([entry("a1", "a")]))
    await settle()
    rest = [asyncio.create_task(writer.submit([entry(f"b{i}", "b")])) for i in range(3)]
    await settle()
    assert store.steps == [["a1"]]
    store.releases[0].set()
    await settle()
    assert store.steps[1:] == [["b0", "b1", "b2"]]
    store.releases[1].set()
    await asyncio.gather(first, *rest)
