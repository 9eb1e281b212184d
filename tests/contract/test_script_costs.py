"""What one script call costs when most of its entries are refused (issue 21, item 4), counted
by the Redis server itself (``INFO commandstats``), natively and over Upstash's REST API.

The attack: fill the ``browser`` share, then send batches of one admissible entry and 999
browser entries of new trace ids. A refusal of a trace that has no list writes nothing, so it
must cost nothing either: the call's commands are bounded by what it writes plus a constant
(docs/keys.md, "Cost per batch")."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tests.contract.test_store_contract import PLAN, T0, entry, outcomes, read_items
from tracesink.store.keys import trace_key
from tracesink.store.memory import MemoryStore

pytestmark = pytest.mark.redis

# EVALSHA, HMGET of both windows, EXISTS, HSET, and the admitted trace's LPUSH and PEXPIRE.
WORST_BATCH_COMMANDS = 7
OURS = {"cmdstat_info", "cmdstat_config|resetstat"}  # the test's own commands


async def counted(raw_redis: aioredis.Redis) -> dict[str, int]:
    stats = await raw_redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items() if k not in OURS}


async def fill_the_browser_share(store: object, raw_redis: aioredis.Redis) -> None:
    """400 browser entries (the share of 1000) over four existing traces."""
    write = store.write_batch  # type: ignore[attr-defined]
    for i in range(4):
        fill = [entry(f"fill-{i}", "browser") for _ in range(100)]
        assert outcomes(await write(fill, T0)) == [None] * 100
    assert outcomes(await write([entry("fill-0", "browser")], T0 + 1)) == ["system"]


async def test_the_worst_batch_costs_a_constant_whatever_it_refuses(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """One admissible entry and 999 refused entries of new trace ids cost 7 commands in all
    (not one LINDEX per refused trace), batch after batch; no key is created for a refusal,
    and every refusal is counted as unmarked."""
    store = make_script_store(PLAN)
    await fill_the_browser_share(store, raw_redis)
    for batch in range(3):
        await raw_redis.config_resetstat()
        before, unmarked = store.usage.commands, store.usage.drops_unmarked
        sent = [entry(f"ok-{batch}")]
        sent += [entry(f"new-{batch}-{i}", "browser") for i in range(999)]
        assert outcomes(await store.write_batch(sent, T0 + 10 + batch)) == [None] + ["system"] * 999
        calls = await counted(raw_redis)
        assert sum(calls.values()) <= WORST_BATCH_COMMANDS, calls
        assert "lindex" not in calls
        assert store.usage.commands - before == sum(calls.values())
        assert store.usage.drops_unmarked - unmarked == 999
    assert await raw_redis.keys("logs:{new-*") == []


async def test_refused_traces_that_exist_are_marked_at_a_bounded_cost(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """Among 995 refusals of new trace ids, the 4 traces that have lists get their drop marker,
    as before; the search for them costs at most 1 + 4 x ceil(log2 999) EXISTS, and each marked
    trace its LINDEX, its marker's LPUSH (or LSET) and its PEXPIRE."""
    store = make_script_store(PLAN)
    await fill_the_browser_share(store, raw_redis)
    await raw_redis.config_resetstat()
    sent = [entry("ok")] + [entry(f"new-{i}", "browser") for i in range(995)]
    sent[100:100] = [entry(f"fill-{i}", "browser") for i in range(4)]  # 999 refused in all
    decisions = await store.write_batch(sent, T0 + 600_000)
    assert outcomes(decisions) == [None] + ["system"] * 999
    calls = await counted(raw_redis)
    assert calls["lindex"] == 4
    assert calls["exists"] <= 1 + 4 * math.ceil(math.log2(999))
    assert sum(calls.values()) <= WORST_BATCH_COMMANDS + calls["exists"] - 1 + 4 * 3, calls
    for i in range(4):  # fill-0's marker (from the fill's last refusal) is extended in place
        head = await raw_redis.lindex(trace_key("", f"fill-{i}"), 0)
        assert head is not None
        assert f'"kind":"dropped","count":{2 if i == 0 else 1}'.encode() in head
    assert await raw_redis.keys("logs:{new-*") == []


async def test_a_refusal_of_an_existing_trace_alone_costs_as_before(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """A batch whose only refused trace exists looks it up with one LINDEX (no EXISTS)."""
    store = make_script_store(replace(PLAN, trace_limit=1))
    await store.write_batch([entry("a")], T0)
    await raw_redis.config_resetstat()
    assert outcomes(await store.write_batch([entry("b"), entry("a")], T0 + 1)) == [None, "trace"]
    calls = await counted(raw_redis)
    assert calls["lindex"] == 1
    assert "exists" not in calls


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_search_marks_exactly_the_traces_memory_marks(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis, seed: int
) -> None:
    """Refused batches mixing traces with and without lists in random proportions: every
    trace's list and the unmarked count equal MemoryStore's, and the search costs at most
    1 + min(with, without) x ceil(log2 n) EXISTS and one LINDEX per trace with a list."""
    rng = random.Random(seed)
    policy = replace(PLAN, system_limits={"browser": 40})
    memory, store = MemoryStore("memory://", policy), make_script_store(policy)
    old = [f"old-{i}" for i in range(40)]
    for i, trace_id in enumerate(old):  # 40 browser entries: the share is spent
        batch = [entry(trace_id, "browser")]
        assert await store.write_batch(batch, T0 + i) == await memory.write_batch(batch, T0 + i)
    for round_ in range(6):
        now = T0 + 1_000 + round_
        n = rng.choice([2, 3, 17, 200])
        with_list = rng.sample(old, min(len(old), rng.randint(0, n)))
        traces = with_list + [f"new-{round_}-{i}" for i in range(n - len(with_list))]
        rng.shuffle(traces)
        batch = [entry(f"ok-{round_}")] + [entry(t, "browser") for t in traces]
        await raw_redis.config_resetstat()
        assert await store.write_batch(batch, now) == await memory.write_batch(batch, now)
        calls = await counted(raw_redis)
        e = len(with_list)
        assert calls.get("exists", 0) <= 1 + min(e, n - e) * math.ceil(math.log2(n))
        assert calls.get("lindex", 0) == e
    assert store.usage.drops_unmarked == memory.usage.drops_unmarked
    for trace_id in old:
        assert await read_items(store, trace_id, T0 + 2_000) == await read_items(
            memory, trace_id, T0 + 2_000
        )
