"""The cluster store on a real three-primary Redis Cluster (tests/support/redis_cluster.py).

Traces whose lists sit on different shards are stored, limited exactly (ids compared) and read
back; a shard that fails between the decision and its append wastes quota but never
over-admits, and the spool's replay stores every acknowledged entry exactly once; a slot moved
between shards during load loses and duplicates nothing. The contract suite (test_store_contract
and the rest) runs on the cluster as its ``cluster`` backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from redis.crc import key_slot

from tests.contract.conftest import StoreFactory
from tests.contract.test_day_count_and_reads import T1
from tests.contract.test_store_contract import PLAN, entry
from tests.support.poll import until
from tests.support.redis_cluster import RedisCluster, command, move_slot
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.cluster import ClusterStore
from tracesink.store.keys import SHARED, counters_key, pin_key, trace_key
from tracesink.store.scripts import DAY_MS
from tracesink.store.spool import Spool
from tracesink.store.spooling import SpoolingStore

pytestmark = pytest.mark.redis

LIMITED = replace(PLAN, trace_limit=3)


def now_ms() -> int:
    return int(time.time() * 1000)


def traces_on(cluster: RedisCluster, count: int, avoid: str = SHARED) -> list[str]:
    """``count`` trace ids whose lists sit on ``count`` different nodes, none of them on the
    node of ``avoid``'s slot when ``count`` < 3 (``avoid``: the counters' tag by default)."""
    taken = {cluster.node_of(f"{{{avoid}}}").port} if count < len(cluster.nodes) else set()
    found: list[str] = []
    for n in range(10_000):
        node = cluster.node_of_slot(key_slot(f"shard-{n}".encode())).port
        if node not in taken:
            taken.add(node)
            found.append(f"shard-{n}")
            if len(found) == count:
                return found
    raise AssertionError("no trace ids found on distinct nodes")


def ids_of(items: list[bytes]) -> list[str]:
    return [json.loads(item)["id"] for item in items if b'"kind"' not in item[:9]]


def admitted_ids(batch: list[PreparedEntry], decisions: list[Decision]) -> list[str]:
    return [e.id for e, d in zip(batch, decisions, strict=True) if d.admitted]


async def test_traces_on_different_shards_are_stored_limited_exactly_and_read_back(
    redis_cluster: RedisCluster, make_cluster_store: StoreFactory
) -> None:
    """Five entries for each of three traces on three shards, trace limit 3, from two
    instances: exactly the first three of each trace admitted, and each trace reads back as
    those three and a marker counting the two refused, from its own shard."""
    traces = traces_on(redis_cluster, 3)
    first, second = make_cluster_store(LIMITED), make_cluster_store(LIMITED)
    at = now_ms()
    admitted: dict[str, list[str]] = {t: [] for t in traces}
    for round_ in range(5):
        store = (first, second)[round_ % 2]
        batch = [entry(t, now_ms=at) for t in traces]
        decisions = await store.write_batch(batch, at)
        for e, d in zip(batch, decisions, strict=True):
            if d.admitted:
                admitted[e.trace_id].append(e.id)
    for trace_id in traces:
        record = await first.read_trace(trace_id, at)
        assert record is not None
        assert ids_of(record.items) == admitted[trace_id]
        assert len(admitted[trace_id]) == 3
        assert json.loads(record.items[-1])["count"] == 2  # the marker of the two refused
        # The list sits on its own shard, with its pin's key: one shard's round trip to read.
        node = redis_cluster.node_of(trace_key("", trace_id))
        with contextlib.closing(redis_cluster.client(node)) as client:
            assert client.exists(trace_key("", trace_id)) == 1
        assert redis_cluster.keyslot(pin_key("", trace_id)) == redis_cluster.keyslot(
            trace_key("", trace_id)
        )
    assert len({redis_cluster.node_of(trace_key("", t)).port for t in traces}) == 3
    listed = [s.trace_id for s in await second.recent_traces(10, at)]
    assert sorted(listed) == sorted(traces)


@pytest.mark.slow
async def test_a_shard_lost_after_the_decision_wastes_quota_and_the_spool_stores_once(
    redis_cluster: RedisCluster, make_cluster_store: StoreFactory, tmp_path: Path
) -> None:
    """The shard of a trace's list dies between the decision (on the counters' shard, alive)
    and the append: the batch is answered as queued (the spool took it), its quota is spent,
    and once the shard is back the replay stores each entry exactly once; the limit still
    admits no more than 3 in all, and a second replay of the same batch stores nothing."""
    [trace_id] = traces_on(redis_cluster, 1)
    store = make_cluster_store(LIMITED)
    assert isinstance(store, ClusterStore)
    spooling = SpoolingStore(store, Spool(tmp_path, 1 << 20), LIMITED, 100)
    at = now_ms()
    await spooling.open(at)
    await store.write_batch([entry("warm-up", now_ms=at)], at)  # connections to every shard
    shard = redis_cluster.node_of(trace_key("", trace_id))
    redis_cluster.kill(shard)
    try:
        batch = [entry(trace_id, now_ms=at) for _ in range(2)]
        decisions = await spooling.write_batch(batch, at, "lost-shard")
        assert [(d.admitted, d.queued) for d in decisions] == [(True, True), (True, True)]
        counters = redis_cluster.node_of(counters_key("", at // LIMITED.window_ms))
        with contextlib.closing(redis_cluster.client(counters)) as client:
            spent = client.hget(counters_key("", at // LIMITED.window_ms), f"t:{trace_id}")
        assert spent == b"2"  # decided and counted before the append failed: quota spent
    finally:
        redis_cluster.restart(shard)

    async def drained() -> bool:
        return spooling.spool_status().entries == 0

    await until(drained, "the spool's replay")
    assert ids_of(await _items(store, trace_id, at)) == [e.id for e in batch]
    # The spool replays only a failed batch; run the same batch again: nothing is added.
    assert await store.replay_batch("lost-shard", batch, at, now_ms()) is False
    more = [entry(trace_id, now_ms=at) for _ in range(2)]
    later = await spooling.write_batch(more, at)
    assert [d.limited_by for d in later] == [None, "trace"]  # 2 spent + 1: never over 3
    assert ids_of(await _items(store, trace_id, at)) == [e.id for e in [*batch, more[0]]]
    await spooling.close()


async def _items(store: ClusterStore, trace_id: str, at: int) -> list[bytes]:
    record = await store.read_trace(trace_id, at)
    assert record is not None
    return record.items


def same_slot_traces(slot: int, count: int) -> list[str]:
    """``count`` trace ids whose lists hash to ``slot``: a slot with many keys to migrate."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        if key_slot(f"hot-{n}".encode()) == slot:
            found.append(f"hot-{n}")
        n += 1
    return found


@pytest.mark.slow
async def test_a_slot_moved_during_load_loses_and_duplicates_nothing(
    redis_cluster: RedisCluster, make_cluster_store: StoreFactory
) -> None:
    """Writers keep writing to 20 traces of one slot while the slot migrates to another shard
    a key at a time (clients get ASK for the keys already moved, then MOVED): every admitted
    entry is in its trace exactly once, in order, and nothing refused is."""
    slot = key_slot(b"hot-0")
    traces = same_slot_traces(slot, 20)
    store = make_cluster_store(replace(PLAN, global_limit=100_000, trace_limit=100_000))
    assert isinstance(store, ClusterStore)
    admitted: dict[str, list[str]] = {t: [] for t in traces}
    at = now_ms()
    # Every list exists before the move starts: MIGRATE has 20 keys to move, one at a time.
    warm_up = [entry(t, now_ms=at) for t in traces]
    for e, d in zip(warm_up, await store.write_batch(warm_up, at), strict=True):
        admitted[e.trace_id].append(admitted_ids([e], [d])[0])
    store.rerouted = 0
    source = redis_cluster.node_of_slot(slot)
    target = next(n for n in redis_cluster.nodes if n is not source)
    moving = asyncio.create_task(asyncio.to_thread(move_slot, redis_cluster, slot, target, batch=1))
    rounds = 0
    while not moving.done() or rounds < 5:
        batch = [entry(t, now_ms=at) for t in traces[rounds % 4 :: 4]]
        decisions = await store.write_batch(batch, at)
        for e, d in zip(batch, decisions, strict=True):
            assert d.admitted
            admitted[e.trace_id].append(e.id)
        rounds += 1
    assert await moving > 0
    assert redis_cluster.node_of_slot(slot) is target
    assert store.rerouted > 0  # calls sent to the old shard were redirected (ASK, then MOVED)
    for t in traces:
        assert ids_of(await _items(store, t, at)) == admitted[t]


def test_the_fixture_cluster_has_three_primaries_covering_every_slot(
    redis_cluster: RedisCluster,
) -> None:
    with contextlib.closing(redis_cluster.client(redis_cluster.nodes[0])) as client:
        info = command(client, "CLUSTER", "INFO").decode()
    assert "cluster_slots_assigned:16384" in info
    assert "cluster_size:3" in info


async def test_the_daily_command_count_is_shared_by_instances_on_a_cluster(
    make_cluster_store: StoreFactory,
) -> None:
    """With a shared budget, every command of a writer and a reader (the appends of the second
    step, a reader's reads, pings and script loads included) reaches the one day count on the
    counters' shard: after the reader publishes and the writer writes, the writer knows the
    day's total as both stores counted it."""
    policy = replace(PLAN, shared_budget=True)
    writer, reader = make_cluster_store(policy), make_cluster_store(policy)
    assert isinstance(writer, ClusterStore)
    assert isinstance(reader, ClusterStore)
    for _ in range(2):
        await writer.write_batch([entry(t, now_ms=T1) for t in ("a", "b", "c")], T1)
    for _ in range(3):
        assert await reader.read_trace("a", T1 + 1) is not None
    await reader.ping()
    await reader.publish_commands(T1 + 2)  # NOSCRIPT, SCRIPT LOAD on each primary, the call
    await reader.publish_commands(T1 + 2)  # the NOSCRIPT's and the loads', left by the first
    assert reader.usage.commands == reader.usage.shared_mark
    await writer.write_batch([entry("a", now_ms=T1)], T1 + 3)
    total = writer.usage.commands + reader.usage.commands
    assert writer.usage.commands_today(T1 // DAY_MS) == total
