"""The stores that run the Lua scripts (natively and over REST): an instance that only reads
publishes its commands to the shared daily count (count_day.lua), and reads wait for read slots
of their own without ever holding up a write (issue 21, items 3 and 8)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from redis import asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tests.contract.test_store_contract import PLAN, T0, entry
from tracesink.errors import ReadsBusy
from tracesink.store.script_store import ScriptStore
from tracesink.store.scripts import DAY_MS, counters_key

# The test's own commands and the connection handshakes (docs/cost.md): not tracesink's.
NOT_OURS = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_hello"}
T1 = T0 - 2 * PLAN.window_ms  # T0 is 23:00 UTC: from here, the next window is the same day
DAY = T1 // DAY_MS


class Server:
    """What Redis counted, less the HGETs this test sends itself to read the day's count."""

    def __init__(self, raw_redis: aioredis.Redis) -> None:
        self.raw = raw_redis
        self.own = 0

    async def reset(self) -> None:
        await self.raw.config_resetstat()
        self.own = 0

    async def counted(self) -> int:
        stats: dict[str, dict[str, int]] = await self.raw.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k not in NOT_OURS) - self.own

    async def day_count(self, now_ms: int) -> int:
        key = counters_key(PLAN, now_ms // PLAN.window_ms)
        value = await self.raw.hget(key, f"c:{DAY}")
        self.own += 1
        return int(value) if value is not None else -1


@pytest.mark.redis
async def test_a_store_that_only_reads_publishes_its_commands_to_the_day_count(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """A reader's reads and pings reach the day's count when it publishes them: the count then
    equals every command both stores sent, as Redis counted them (the publishing call's own
    included), and the writer's next batch continues from it, in this window and the next."""
    server = Server(raw_redis)
    policy = replace(PLAN, shared_budget=True)
    writer, reader = make_script_store(policy), make_script_store(policy)
    await writer.write_batch([entry("a")], T1)  # loads write_batch.lua
    await writer.write_batch([entry("a")], T1)  # counts the SCRIPT LOAD (and refused EVALSHA)
    await server.reset()
    before = writer.usage.commands
    for _ in range(5):
        assert await reader.read_trace("a", T1 + 1) is not None
    await reader.recent_traces(10, T1 + 1)
    await reader.ping()
    await reader.publish_commands(T1 + 2)  # NOSCRIPT, SCRIPT LOAD, then the call
    await reader.publish_commands(T1 + 2)  # the NOSCRIPT's two commands, left by the first
    assert reader.usage.commands - reader.usage.shared_mark == 0
    total = before + await server.counted()
    assert await server.day_count(T1) == total
    await reader.publish_commands(T1 + 3)  # nothing waits: nothing is sent
    assert before + await server.counted() == total
    await writer.write_batch([entry("a")], T1 + 4)
    assert writer.usage.commands_today(DAY) == before + await server.counted()
    # The next window, before any write in it: the reader takes the count over.
    later = T1 + PLAN.window_ms
    await reader.read_trace("a", later)
    await reader.publish_commands(later)
    assert await server.day_count(later) == before + await server.counted()
    await writer.write_batch([entry("a")], later + 1)
    assert writer.usage.commands_today(DAY) == before + await server.counted()
    assert await server.day_count(later) == before + await server.counted()


@pytest.mark.redis
async def test_publishing_without_a_budget_sends_nothing(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """Without a shared budget there is no count to publish to: no command is sent."""
    server = Server(raw_redis)
    store = make_script_store(PLAN)
    await store.ping()
    await server.reset()
    await store.publish_commands(T0)
    assert await server.counted() == 0


@pytest.mark.redis
async def test_reads_wait_for_a_read_slot_and_never_hold_up_a_write(
    make_script_store: StoreFactory,
) -> None:
    """With every read slot taken, a read waits up to its deadline and then fails with
    ReadsBusy (naming the read slots), not a StorageError; writes go through meanwhile, on the
    writer's own connection; once a slot frees, reads answer again."""
    store = make_script_store(PLAN)
    assert isinstance(store, ScriptStore)
    await store.write_batch([entry("a")], T0)
    store.read_wait_s = 0.2
    slots = store._read_slots  # holding them all is the point of the test
    for _ in range(store.read_slots):
        await slots.acquire()
    waiting = asyncio.create_task(store.read_trace("a", T0 + 1))
    decisions = await store.write_batch([entry("a"), entry("b")], T0 + 2)
    assert all(d.admitted for d in decisions)
    with pytest.raises(ReadsBusy, match="read slots"):
        await waiting
    slots.release()
    record = await store.read_trace("a", T0 + 3)
    assert record is not None
    assert len(record.items) == 2
