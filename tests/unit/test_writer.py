"""Group commit: flush at once when idle, gather while a flush is in flight, bound what waits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from tracesink.errors import Overloaded, StorageError
from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore
from tracesink.writer import Writer

POLICY = Policy(
    global_limit=10_000, trace_limit=10_000, system_limits={}, window_ms=60_000, ttl_ms=60_000
)


class GatedStore(MemoryStore):
    """The memory store, holding each write until the test opens the gate; records batch sizes."""

    def __init__(self) -> None:
        super().__init__("memory://", POLICY)
        self.gate = asyncio.Event()
        self.gate.set()
        self.batch_sizes: list[int] = []
        self.fail_next = False

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        self.batch_sizes.append(len(entries))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise StorageError("store unreachable")
        return await super().write_batch(entries, now_ms, batch_id)


def entries(n: int, trace: str = "t") -> list[PreparedEntry]:
    return [PreparedEntry(f"{trace}{i}", trace, "manual", b'{"m": 1}') for i in range(n)]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_idle_writer_flushes_a_lone_submission_at_once() -> None:
    """At low load a single entry goes to the store by itself, without waiting for company."""
    store = GatedStore()
    writer = Writer(store, max_batch=100, max_queue=100)
    decisions, _ = await writer.submit(entries(1))
    assert decisions[0].admitted
    assert store.batch_sizes == [1]


async def test_submissions_gather_while_a_flush_is_in_flight() -> None:
    """Entries arriving during a flush go together in the next one, each caller getting its own."""
    store = GatedStore()
    store.gate.clear()
    writer = Writer(store, max_batch=100, max_queue=100)
    first = asyncio.create_task(writer.submit(entries(1, "a")))
    await settle()
    later = [asyncio.create_task(writer.submit(entries(2, f"b{i}"))) for i in range(3)]
    await settle()
    assert writer.queued == 6
    store.gate.set()
    results = await asyncio.gather(first, *later)
    assert store.batch_sizes == [1, 6]
    assert [len(decisions) for decisions, _ in results] == [1, 2, 2, 2]
    assert writer.queued == 0


async def test_batches_are_bounded_but_requests_stay_whole() -> None:
    """No step exceeds max_batch unless one request alone is larger; a request is never split.

    Submissions made before the writer first runs all gather into its first step.
    """
    store = GatedStore()
    store.gate.clear()
    writer = Writer(store, max_batch=5, max_queue=100)
    tasks = [asyncio.create_task(writer.submit(entries(n, f"r{n}"))) for n in (1, 3, 3, 7, 1)]
    await settle()
    store.gate.set()
    await asyncio.gather(*tasks)
    assert store.batch_sizes == [4, 3, 7, 1]


async def test_a_full_queue_is_refused_at_once() -> None:
    """Past max_queue, submit raises Overloaded instead of letting memory grow."""
    store = GatedStore()
    store.gate.clear()
    writer = Writer(store, max_batch=10, max_queue=4)
    in_flight = asyncio.create_task(writer.submit(entries(1, "a")))
    await settle()
    waiting = asyncio.create_task(writer.submit(entries(4, "b")))
    await settle()
    with pytest.raises(Overloaded):
        await writer.submit(entries(1, "c"))
    store.gate.set()
    await asyncio.gather(in_flight, waiting)
    assert store.batch_sizes == [1, 4]


async def test_a_store_failure_reaches_every_waiter_and_the_writer_goes_on() -> None:
    """A failed step fails the requests in it, not later ones."""
    store = GatedStore()
    store.fail_next = True
    writer = Writer(store, max_batch=10, max_queue=10)
    with pytest.raises(StorageError):
        await writer.submit(entries(2))
    assert (await writer.submit(entries(1)))[0][0].admitted


async def test_each_waiter_gets_its_own_copy_of_a_store_failure() -> None:
    """Waiters of a failed step each get a fresh exception (no shared, growing traceback that
    would keep the batch alive in a reference cycle)."""
    store = GatedStore()
    store.gate.clear()
    store.fail_next = True
    writer = Writer(store, max_batch=10, max_queue=10)
    waiters = [asyncio.create_task(writer.submit(entries(1, f"w{i}"))) for i in range(2)]
    await settle()
    store.gate.set()
    failures = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(f, StorageError) for f in failures)
    assert failures[0] is not failures[1]
    assert str(failures[0]) == str(failures[1]) == "store unreachable"


async def test_a_caller_that_goes_away_does_not_cancel_the_step() -> None:
    """Cancelling one waiting request leaves its batch (and its neighbours) stored."""
    store = GatedStore()
    store.gate.clear()
    writer = Writer(store, max_batch=10, max_queue=10)
    leaving = asyncio.create_task(writer.submit(entries(1, "gone")))
    staying = asyncio.create_task(writer.submit(entries(1, "here")))
    await settle()
    leaving.cancel()
    store.gate.set()
    assert (await staying)[0][0].admitted
    await writer.drain()
    assert await store.read_trace("gone", 0) is not None


async def test_drain_waits_for_everything_submitted() -> None:
    """drain() returns only when no step is in flight and nothing waits."""
    store = GatedStore()
    store.gate.clear()
    writer = Writer(store, max_batch=10, max_queue=10)
    task = asyncio.create_task(writer.submit(entries(3)))
    await settle()
    drained = asyncio.create_task(writer.drain())
    await settle()
    assert not drained.done()
    store.gate.set()
    await drained
    assert task.done()
    assert writer.batches == 1
