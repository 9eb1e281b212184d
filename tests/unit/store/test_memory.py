"""The memory store remembers stored batch ids as long as Redis does (their window and the next),
not for the life of the process: the writer names every batch, so a set of all ids only grew."""

from __future__ import annotations

from tracesink.limits import Policy
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore

WINDOW_MS = 1000
POLICY = Policy(
    global_limit=10**6, trace_limit=10**6, system_limits={}, window_ms=WINDOW_MS, ttl_ms=WINDOW_MS
)
ENTRY = PreparedEntry("id", "t", "manual", b'{"message":"m"}')


async def test_batch_ids_are_forgotten_two_windows_on() -> None:
    """1,000 batches over 100 windows leave the ids of at most two windows; a replay within
    them is still recognised, as write_batch.lua's b: fields are."""
    store = MemoryStore("memory://", POLICY)
    for n in range(1000):
        await store.write_batch([ENTRY], n * 100, f"batch-{n}")
    remembered = sum(len(ids) for ids in store._stored.values())  # the memory this pins
    assert remembered <= 20
    assert not await store.replay_batch("batch-999", [ENTRY], 99_900, 99_950)


async def test_a_refusal_after_an_undecodable_item_still_marks_the_gap() -> None:
    """A trace whose newest item no reader can decode (an older version's entry): the next
    refusal appends its drop marker rather than failing the whole batch (and every request
    that joined it) on decoding that item."""
    policy = Policy(
        global_limit=10**6, trace_limit=1, system_limits={}, window_ms=WINDOW_MS, ttl_ms=WINDOW_MS
    )
    store = MemoryStore("memory://", policy)
    [stored] = await store.write_batch([ENTRY], 0)
    assert stored.admitted
    store._lists["t"].append(b'{"context":{"a":1e400}}')  # as an older version could store it
    [refused] = await store.write_batch([ENTRY], 1)
    assert not refused.admitted
    record = await store.read_trace("t", 2)
    assert record is not None
    assert record.items[-1].startswith(b'{"kind":"dropped"')
