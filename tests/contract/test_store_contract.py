"""The store contract: what every backend does, checked on each through the public Store API.

Time is injected (``now_ms``), so window arithmetic is exact. Redis keeps TTLs on its own clock,
so expiry tests wait for real on Redis (and Upstash) and only move the injected clock on memory.
Tests on ``make_script_store`` look at what the stores that run the Lua scripts have (keys, TTLs,
scripts, command counts), on Redis natively and over Upstash's REST API; the last ones look at
the Redis store alone. Upstash-only behaviour (REST errors, splitting) is in test_upstash.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tests.support.poll import until
from tests.support.redis_server import RedisServer, free_port
from tracesink.errors import ConfigurationError, StorageError
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, decode_entry, prepare_entry
from tracesink.limits import Decision, Policy, decide, retry_after_ms, window_of
from tracesink.model import PreparedEntry
from tracesink.store.base import Store, TraceSummary
from tracesink.store.items import decode_items
from tracesink.store.keys import counters_key, day_key, trace_key
from tracesink.store.memory import MemoryStore
from tracesink.store.redis import RedisStore

# The original plan's limits: 1000 an hour, browser 40 %, worker and convex 30 %, 100 per trace.
PLAN = Policy(
    global_limit=1000,
    trace_limit=100,
    system_limits={"browser": 400, "worker": 300, "convex": 300},
    window_ms=3_600_000,
    ttl_ms=3_600_000,
)
T0 = 1_700_002_800_000  # the first millisecond of an hour, so tests know where a window starts
RULES = EntryRules(max_message_bytes=16_384, max_context_bytes=16_384, max_context_depth=8)


def entry(
    trace_id: str = "a", system: str = "manual", now_ms: int = T0, **fields: Any
) -> PreparedEntry:
    body = {"trace_id": trace_id, "message": "hello", "system": system, **fields}
    return prepare_entry(decode_entry(msgspec.json.encode(body)), RULES, Sender({}), now_ms)


def entries(count: int, trace_id: str = "a", system: str = "manual") -> list[PreparedEntry]:
    return [entry(trace_id, system) for _ in range(count)]


def outcomes(decisions: Sequence[Decision]) -> list[str | None]:
    return [decision.limited_by for decision in decisions]


def marker(count: int, first: int, last: int, by: tuple[int, int, int]) -> dict[str, Any]:
    """A drop marker as stores write it; ``by`` counts the global, system and trace levels."""
    counts = dict(zip(("global", "system", "trace"), by, strict=True))
    return {"kind": "dropped", "count": count, "by": counts, "first": first, "last": last}


async def read_items(store: Store, trace_id: str, now_ms: int = T0) -> list[bytes]:
    record = await store.read_trace(trace_id, now_ms)
    assert record is not None
    return record.items


async def later(backend: str, now_ms: int, ms: int) -> int:
    """``now_ms + ms``; on Redis (Upstash too), whose TTLs run on its own clock, after really
    waiting."""
    if backend != "memory":
        await asyncio.sleep(ms / 1000)
    return now_ms + ms


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store(PLAN)


# --- limits ---------------------------------------------------------------------------------


async def test_trace_limit_admits_exactly_100_of_150_in_one_batch(store: Store) -> None:
    """In one batch, the first 100 entries of a trace are admitted and the other 50 refused."""
    decisions = await store.write_batch(entries(150), T0)
    assert outcomes(decisions) == [None] * 100 + ["trace"] * 50


async def test_trace_limit_admits_exactly_100_of_150_over_many_batches(store: Store) -> None:
    """Spread over 150 single-entry batches, the trace limit still admits exactly 100."""
    results = [await store.write_batch([entry()], T0 + i) for i in range(150)]
    assert outcomes([decisions[0] for decisions in results]) == [None] * 100 + ["trace"] * 50


async def test_the_401st_browser_entry_is_refused_by_the_system_share(store: Store) -> None:
    """Browser gets 40 % of 1000: entry 401 is refused by the system level, others still fit."""
    browser = [entry(f"t{i}", "browser") for i in range(401)]
    decisions = await store.write_batch(browser, T0)
    assert outcomes(decisions) == [None] * 400 + ["system"]
    assert decisions[399].remaining == {"global": 600, "system": 0, "trace": 99}
    assert decisions[400].remaining == {"global": 600, "system": 0, "trace": 100}
    [worker] = await store.write_batch([entry("w", "worker")], T0)
    assert worker.admitted


async def test_a_refused_entry_consumes_no_quota_at_any_level(make_store: StoreFactory) -> None:
    """Entries refused by the trace level leave the global and system counts untouched."""
    store = make_store(replace(PLAN, global_limit=10, trace_limit=3, system_limits={"browser": 4}))
    decisions = await store.write_batch(entries(5, "a", "browser"), T0)
    assert outcomes(decisions) == [None, None, None, "trace", "trace"]
    after_third = {"global": 7, "system": 1, "trace": 0}
    assert [d.remaining for d in decisions[2:]] == [after_third] * 3
    [other] = await store.write_batch([entry("b", "browser")], T0)
    assert other == Decision(None, {"global": 6, "system": 0, "trace": 2})


async def test_admission_is_all_or_nothing_across_levels(make_store: StoreFactory) -> None:
    """An entry refused by the global level does not consume its trace's quota either."""
    store = make_store(replace(PLAN, global_limit=4, trace_limit=3))
    assert outcomes(await store.write_batch(entries(3, "a"), T0)) == [None] * 3
    decisions = await store.write_batch(entries(3, "b"), T0)
    assert outcomes(decisions) == [None, "global", "global"]
    assert [d.remaining["trace"] for d in decisions] == [2, 2, 2]


async def test_limited_by_is_the_first_full_level_and_retry_after_the_longest_wait(
    make_store: StoreFactory,
) -> None:
    """With global and trace both full, the refusal names global but waits for the trace."""
    policy = replace(PLAN, global_limit=4, trace_limit=3)
    store = make_store(policy)
    now = T0 + 600_000
    await store.write_batch([*entries(3, "a"), entry("b")], now)
    [refused] = await store.write_batch([entry("a")], now)
    window, elapsed = policy.window_ms, 600_000
    trace_wait = retry_after_ms(0, 3, elapsed, window, 3)
    assert trace_wait > retry_after_ms(0, 4, elapsed, window, 4)
    assert refused == Decision("global", {"global": 0, "trace": 0}, trace_wait)


async def test_remaining_and_retry_after_are_what_limits_decide_says(
    make_store: StoreFactory,
) -> None:
    """Per entry, limited_by, remaining per level and retry_after_ms equal limits.decide's."""
    policy = replace(PLAN, global_limit=10, trace_limit=4, window_ms=60_000)
    policy = replace(policy, system_limits={"browser": 4, "worker": 3})
    store = make_store(policy)
    first = [*entries(3, "a", "browser"), *entries(2, "b", "worker")]
    await store.write_batch(first, T0 + 50_000)
    second = [*entries(3, "a", "browser"), entry("b", "worker"), *entries(2, "c", "manual")]
    decisions = await store.write_batch(second, T0 + 80_000)

    prev = {"g": 5, "s:browser": 3, "t:a": 3, "s:worker": 2, "t:b": 2}
    pairs = [(e.trace_id, e.system) for e in second]
    assert decisions == decide(pairs, prev, {}, 20_000, policy)
    # The same, worked by hand: 2/3 of the previous window still counts.
    assert decisions[2] == Decision("system", {"global": 4, "system": 0, "trace": 0}, 20_000)


async def test_no_double_burst_at_the_window_edge(make_store: StoreFactory) -> None:
    """A trace that used its quota at the end of one window gets nothing at the next one's start."""
    store = make_store(replace(PLAN, trace_limit=10, window_ms=10_000))
    late = await store.write_batch(entries(11), T0 + 9_999)
    assert outcomes(late) == [None] * 10 + ["trace"]
    [edge] = await store.write_batch([entry()], T0 + 10_000)
    assert edge.limited_by == "trace"
    assert edge.retry_after_ms == 1_000  # once a tenth has slid out, the 10 weigh 9


async def test_counts_recover_as_the_previous_window_slides_out(make_store: StoreFactory) -> None:
    """The previous window weighs in proportion to its overlap, then not at all."""
    store = make_store(replace(PLAN, trace_limit=10, window_ms=10_000))
    await store.write_batch(entries(10), T0 + 9_000)
    halfway = await store.write_batch(entries(6), T0 + 15_000)  # 10 * 1/2 still counts
    assert outcomes(halfway) == [None] * 5 + ["trace"]
    next_half = await store.write_batch(entries(8), T0 + 25_000)  # 5 * 1/2 counts
    assert outcomes(next_half) == [None] * 7 + ["trace"]
    idle = await store.write_batch(entries(11), T0 + 40_000)  # the previous window is empty
    assert outcomes(idle) == [None] * 10 + ["trace"]


async def test_concurrent_batches_never_over_admit(make_store: StoreFactory) -> None:
    """50 single-entry batches racing for a trace of limit 10 admit exactly 10, drop 40."""
    store = make_store(replace(PLAN, trace_limit=10))
    results = await asyncio.gather(*(store.write_batch([entry()], T0) for _ in range(50)))
    assert sum(d.admitted for [d] in results) == 10
    items = decode_items(await read_items(store, "a"))
    assert sum(1 for item in items if "kind" not in item) == 10
    assert sum(item["count"] for item in items if "kind" in item) == 40


# --- what is stored -------------------------------------------------------------------------


async def test_a_trace_reads_oldest_first_with_payload_bytes_unchanged(store: Store) -> None:
    """Entries read back oldest first, each byte for byte as the ingest path built it."""
    sent = [
        entry(message="first"),
        entry(message="héllo ✓ 🚀", user_id=42, stack="Error\n  at f (a.js:1:2)"),
        entry(context={"nested": {"n": 1.5, "list": [1, "x", None]}, "big": 2**60}),
    ]
    await store.write_batch(sent[:2], T0)
    await store.write_batch(sent[2:], T0 + 1)
    assert await read_items(store, "a", T0 + 1) == [e.payload for e in sent]


async def test_an_unknown_trace_reads_as_none(store: Store) -> None:
    """A trace never written reads as None, as does an empty recent list."""
    assert await store.read_trace("never", T0) is None
    assert await store.recent_traces(10, T0) == []


async def test_refusals_leave_one_marker_in_place_counting_each_level(
    make_store: StoreFactory,
) -> None:
    """Consecutive refusals share one marker where they happened, updated in place per level."""
    store = make_store(replace(PLAN, global_limit=3, trace_limit=2))
    admitted = entries(2)
    await store.write_batch([*admitted, entry()], T0)  # the third is over the trace limit
    await store.write_batch([entry("b"), entry()], T0 + 5)  # b fills the global limit
    items = await read_items(store, "a", T0 + 5)
    assert items[:2] == [e.payload for e in admitted]
    expected = marker(2, T0, T0 + 5, by=(1, 0, 1))
    assert items[2:] == [msgspec.json.encode(expected)]


async def test_an_admission_closes_the_marker_and_later_refusals_open_a_new_one(
    make_store: StoreFactory,
) -> None:
    """Once an entry is admitted after refusals, the next refusal starts a new marker after it."""
    store = make_store(replace(PLAN, trace_limit=1, window_ms=10_000))
    first, second = entry(message="1"), entry(message="2")
    await store.write_batch([first, entry()], T0)
    await store.write_batch([second, entry(), entry()], T0 + 20_000)
    items = await read_items(store, "a", T0 + 20_000)
    assert decode_items(items) == [
        msgspec.json.decode(first.payload),
        marker(1, T0, T0, by=(0, 0, 1)),
        msgspec.json.decode(second.payload),
        marker(2, T0 + 20_000, T0 + 20_000, by=(0, 0, 2)),
    ]


async def test_a_refused_new_trace_creates_nothing_and_is_counted(
    make_store: StoreFactory,
) -> None:
    """A refusal never creates a trace: one whose only entry was refused does not exist, is not
    a recent trace, and the drop is counted (usage.drops_unmarked) instead of marked."""
    store = make_store(replace(PLAN, global_limit=1))
    await store.write_batch([entry("a"), entry("b")], T0)
    await store.write_batch([entry("c")], T0 + 1)  # refused again, with "g" known to be spent
    assert await store.read_trace("b", T0 + 1) is None
    assert await store.read_trace("c", T0 + 1) is None
    assert [s.trace_id for s in await store.recent_traces(10, T0 + 1)] == ["a"]
    assert store.usage.drops_unmarked == 2


# --- expiry ---------------------------------------------------------------------------------


async def test_expires_at_is_ttl_after_the_last_write(store: Store) -> None:
    """A read reports when the trace will expire: ttl (plus at most the slack) after its last
    write."""
    await store.write_batch([entry()], T0)
    record = await store.read_trace("a", T0)
    assert record is not None
    assert record.expires_at_ms is not None
    slack = PLAN.expiry_slack_ms  # expiry is refreshed once per slack, not on every write
    assert T0 + PLAN.ttl_ms - 1_000 < record.expires_at_ms <= T0 + PLAN.ttl_ms + slack


async def test_a_trace_expires_ttl_after_its_last_write_refusals_included(
    backend: str, make_store: StoreFactory
) -> None:
    """Every write, a refusal too, keeps the trace for another ttl; then it is gone everywhere."""
    store = make_store(replace(PLAN, trace_limit=1, ttl_ms=1_000))
    now = T0
    await store.write_batch([entry()], now)
    now = await later(backend, now, 400)
    await store.write_batch([entry()], now)  # refused: a new marker
    now = await later(backend, now, 400)
    await store.write_batch([entry()], now)  # refused: the marker is updated in place
    now = await later(backend, now, 700)  # 1100 ms after the first refusal
    assert len(await read_items(store, "a", now)) == 2
    now = await later(backend, now, 500)  # 1200 ms after the last write
    assert await store.read_trace("a", now) is None
    assert await store.recent_traces(10, now) == []


# --- recent traces --------------------------------------------------------------------------


async def test_recent_traces_are_newest_first_with_entry_counts_and_systems(
    make_store: StoreFactory,
) -> None:
    """Recent traces: newest admission first, counting entries (not markers), with systems."""
    store = make_store(replace(PLAN, trace_limit=2))
    await store.write_batch([entry("a", "browser"), entry("a", "worker")], T0)
    await store.write_batch([entry("b", "convex")], T0 + 10)
    await store.write_batch([entry("c"), entry("c"), entry("c")], T0 + 20)  # one refused
    await store.write_batch([entry("a")], T0 + 30)  # refused: not an admission
    assert await store.recent_traces(10, T0 + 40) == [
        TraceSummary("c", 2, ["manual"], T0 + 20),
        TraceSummary("b", 1, ["convex"], T0 + 10),
        TraceSummary("a", 2, ["browser", "worker"], T0),
    ]
    assert [s.trace_id for s in await store.recent_traces(2, T0 + 40)] == ["c", "b"]


async def test_recent_traces_break_ties_by_trace_id_descending(store: Store) -> None:
    """Traces last admitted in the same millisecond come in descending trace_id order."""
    await store.write_batch([entry("m"), entry("z"), entry("a")], T0)
    assert [s.trace_id for s in await store.recent_traces(10, T0)] == ["z", "m", "a"]


# --- Redis and Upstash (the Lua scripts): equivalence with the reference ----------------------


def random_traffic(seed: int) -> list[tuple[int, list[PreparedEntry]]]:
    """Batches of random traces and systems at increasing times crossing many windows."""
    rng = random.Random(seed)
    traces = [f"t{i}" for i in range(6)]
    systems = ["browser", "worker", "convex", "manual"]
    now, batches = T0 + rng.randrange(1_000), []
    for _ in range(80):
        now += rng.choice([0, 1, 7, 90, 250, 600, 1_500])
        batch = [
            entry(rng.choice(traces), rng.choice(systems), now, message=str(rng.random()))
            for _ in range(rng.randint(1, 12))
        ]
        batches.append((now, batch))
    return batches


@pytest.mark.redis
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "systems", [{"browser": 16, "worker": 12, "convex": 12}, {"browser": 5, "convex": 0}]
)
@pytest.mark.parametrize("cap", [1000, 12])
async def test_redis_decides_and_stores_exactly_as_memory(
    make_script_store: StoreFactory, seed: int, systems: dict[str, int], cap: int
) -> None:
    """For random traffic, the Lua script's decisions, lists and summaries equal MemoryStore's,
    with lists that never reach their cap and with lists trimmed many times over."""
    # A short window crosses many window edges; a long TTL keeps every trace readable.
    policy = replace(
        PLAN,
        global_limit=40,
        trace_limit=8,
        system_limits=systems,
        window_ms=1_000,
        max_trace_entries=cap,
    )
    memory, script_store = MemoryStore("memory://", policy), make_script_store(policy)
    batches = random_traffic(seed)
    for now, batch in batches:
        expected = await memory.write_batch(batch, now)
        assert await script_store.write_batch(batch, now) == expected
    end = batches[-1][0]
    for trace_id in {e.trace_id for _, batch in batches for e in batch}:
        expected_record = await memory.read_trace(trace_id, end)
        record = await script_store.read_trace(trace_id, end)
        assert record is not None
        assert expected_record is not None
        assert record.items == expected_record.items
    assert await script_store.recent_traces(10, end) == await memory.recent_traces(10, end)


# --- Redis and Upstash (the Lua scripts): keys, TTLs, scripts, costs -----------------------


@pytest.mark.redis
async def test_a_plain_client_sees_json_strings_newest_first(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """logs:{<trace_id>} is a list of JSON strings, newest at the head, as the original plan had."""
    store = make_script_store(replace(PLAN, trace_limit=2))
    sent = entries(3)
    await store.write_batch(sent, T0)
    newest_first = [msgspec.json.encode(marker(1, T0, T0, by=(0, 0, 1))), sent[1].payload]
    assert await raw_redis.lrange(trace_key("", "a"), 0, -1) == [*newest_first, sent[0].payload]


@pytest.mark.redis
async def test_counters_are_one_hash_per_window_with_the_policy_field_names(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """rl:{tracesink}:<window> holds g, s:{system} and t:{trace_id} counts of admissions only,
    beside each the previous window's count (p...) copied by its first write in this window;
    l:{trace_id} (last admission: the recent-traces index); x:{trace_id} (until when the list's
    expiry is set); b:{batch_id} for each batch that admitted anything (what makes a replay
    idempotent)."""
    store = make_script_store(replace(PLAN, trace_limit=2))
    await store.write_batch([entry("a", "browser"), *entries(2, "b")], T0, "batch-1")
    await store.write_batch([entry("b")], T0, "batch-2")  # refused: nothing changes
    index, _ = window_of(T0, PLAN.window_ms)
    expires = str(T0 + PLAN.ttl_ms + PLAN.expiry_slack_ms).encode()
    assert await raw_redis.hgetall(counters_key("", index)) == {
        b"g": b"3",
        b"pg": b"0",
        b"s:browser": b"1",
        b"ps:browser": b"0",
        b"t:a": b"1",
        b"pt:a": b"0",
        b"t:b": b"2",
        b"pt:b": b"0",
        b"l:a": str(T0).encode(),
        b"l:b": str(T0).encode(),
        b"x:a": expires,
        b"x:b": expires,
        b"b:batch-1": b"1",
    }


@pytest.mark.redis
async def test_every_key_carries_a_ttl(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """Lists and window counters all expire; nothing lives forever."""
    policy = replace(PLAN, trace_limit=2, window_ms=60_000)
    store = make_script_store(policy)
    await store.write_batch([*entries(3, "a"), entry("b", "browser")], T0)
    await store.write_batch([*entries(2, "c"), entry("a")], T0 + 60_000)
    await store.write_batch([entry("d")], T0 + 60_001)
    ttls = {key: await raw_redis.pttl(key) for key in await raw_redis.keys("*")}
    index, _ = window_of(T0, policy.window_ms)
    list_ttl = policy.ttl_ms + policy.expiry_slack_ms
    bounds: dict[bytes | str, int] = {trace_key("", t).encode(): list_ttl for t in "abcd"}
    hash_ttl = policy.window_ms + max(policy.window_ms, policy.ttl_ms)
    bounds[counters_key("", index).encode()] = hash_ttl
    bounds[counters_key("", index + 1).encode()] = hash_ttl
    assert set(ttls) == set(bounds)
    for key, ttl in ttls.items():
        assert bounds[key] - 1_000 < ttl <= bounds[key], key


@pytest.mark.redis
async def test_the_index_lists_traces_admitted_within_the_ttl_from_the_window_hashes(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """The recent-traces index is the l:{trace_id} fields of the window hashes covering the
    TTL: a trace last admitted ttl or longer ago is not listed."""
    policy = replace(PLAN, window_ms=1_000, ttl_ms=5_000)
    store = make_script_store(policy)
    await store.write_batch([entry("old")], T0)
    await store.write_batch([entry("kept")], T0 + 3_000)
    await store.write_batch([entry("new")], T0 + 6_000)
    assert [s.trace_id for s in await store.recent_traces(10, T0 + 6_000)] == ["new", "kept"]
    index, _ = window_of(T0 + 6_000, policy.window_ms)
    assert await raw_redis.hget(counters_key("", index), "l:new") == str(T0 + 6_000).encode()


@pytest.mark.redis
async def test_the_script_is_loaded_again_after_script_flush(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """After SCRIPT FLUSH (or a restart) the next batch reloads the script and is stored."""
    store = make_script_store(PLAN)
    await store.write_batch([entry()], T0)
    await raw_redis.script_flush()
    [decision] = await store.write_batch([entry()], T0)
    assert decision.admitted
    assert len(await read_items(store, "a")) == 2


@pytest.mark.redis
async def test_commands_sent_matches_the_servers_own_count(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """usage.commands counts what Redis counts: EVALSHA and its inner calls, reads, pings."""
    store = make_script_store(replace(PLAN, trace_limit=2))
    await store.write_batch([entry("warm-up")], T0)  # loads the script
    await raw_redis.config_resetstat()
    before = store.usage.commands
    await store.write_batch([*entries(4, "a"), entry("b", "browser")], T0 + 1)
    await store.write_batch([entry("a"), entry("c")], T0 + 2)
    await store.read_trace("a", T0 + 2)
    await store.recent_traces(10, T0 + 2)
    await store.ping()
    stats = await raw_redis.info("commandstats")
    # The test's own commands, and the handshake of the reads' own connection (one HELLO per
    # pooled connection, which tracesink does not count: docs/cost.md).
    ours = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_hello"}
    counted = sum(v["calls"] for k, v in stats.items() if k not in ours)
    assert store.usage.commands - before == counted


@pytest.mark.redis
async def test_a_batch_costs_three_commands_plus_one_per_trace(
    make_script_store: StoreFactory,
) -> None:
    """A batch costs EVALSHA, HMGET, HSET and one LPUSH per trace; a trace's first write in a
    window adds the previous window's HMGET (once per batch) and its list's PEXPIRE."""
    store = make_script_store(PLAN)
    await store.write_batch([entry("warm-up")], T0)  # the window's one-off housekeeping
    for batch in ([entry(f"t{i}") for i in range(10)], entries(20, "one")):
        traces = len({e.trace_id for e in batch})
        before = store.usage.commands
        await store.write_batch(batch, T0 + 1)
        assert store.usage.commands - before == 4 + 2 * traces
        before = store.usage.commands
        await store.write_batch(batch, T0 + 2)
        assert store.usage.commands - before == 3 + traces


@pytest.mark.redis
async def test_a_lone_entry_in_an_active_trace_costs_four_commands(
    make_script_store: StoreFactory,
) -> None:
    """One entry every 100 ms to one trace: EVALSHA, HMGET, HSET, LPUSH each, the list's
    expiry refreshed once per slack (ttl/10) only."""
    store = make_script_store(replace(PLAN, trace_limit=1000))
    await store.write_batch([entry()], T0)
    before = store.usage.commands
    for i in range(1, 101):
        await store.write_batch([entry()], T0 + 100 * i)
    assert store.usage.commands - before == 4 * 100


@pytest.mark.redis
async def test_a_runaway_loop_is_refused_without_commands_and_marked_within_the_delay(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """Past its limit, a trace's entries are refused without a command (the script said the
    level is spent); the drops are written as one marker once the flush delay (2 s) passes."""
    policy = replace(PLAN, trace_limit=3, ttl_ms=20_000)  # slack 2 s: a 2 s flush delay
    store = make_script_store(policy)
    assert outcomes(await store.write_batch(entries(4), T0)) == [None] * 3 + ["trace"]
    before = store.usage.commands
    for i in range(1, 201):
        [decision] = await store.write_batch([entry()], T0 + i)
        assert decision.limited_by == "trace"
    assert store.usage.commands == before
    head = await raw_redis.lindex(trace_key("", "a"), 0)
    assert head is not None
    assert msgspec.json.decode(head)["count"] == 1  # only the script's own refusal, so far

    async def all_drops_marked() -> bool:
        head = await raw_redis.lindex(trace_key("", "a"), 0)
        marked = head is not None and msgspec.json.decode(head)["count"] == 201
        return marked and store.usage.commands > before  # and its answer read (then counted)

    await until(all_drops_marked, "the 201 drops written as one marker")  # a 2 s timer
    head = await raw_redis.lindex(trace_key("", "a"), 0)
    assert head is not None
    assert msgspec.json.decode(head) == marker(201, T0, T0 + 200, by=(0, 0, 201))
    assert await raw_redis.llen(trace_key("", "a")) == 4
    assert store.usage.commands - before <= 5  # EVALSHA, LINDEX, LSET, PEXPIRE


@pytest.mark.redis
async def test_refusals_of_new_traces_cost_nothing_once_the_global_level_is_spent(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """With the global level known to be spent, entries of 1000 new trace ids cost no command
    and create no key."""
    store = make_script_store(replace(PLAN, global_limit=5))
    assert outcomes(await store.write_batch(entries(6, "a"), T0)) == [None] * 5 + ["global"]
    before = store.usage.commands
    for i in range(1000):
        [decision] = await store.write_batch([entry(f"new-{i}")], T0 + 1 + i)
        assert decision.limited_by == "global"
    assert store.usage.commands == before
    assert await raw_redis.keys("logs:{new-*") == []
    assert store.usage.drops_unmarked == 1000


@pytest.mark.redis
async def test_a_key_prefix_prefixes_every_key(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """With a key prefix every key carries it, and two prefixes on one database keep apart."""
    ours = make_script_store(replace(PLAN, trace_limit=1, key_prefix="dev:"))
    theirs = make_script_store(replace(PLAN, trace_limit=1))
    assert outcomes(await ours.write_batch(entries(2), T0)) == [None, "trace"]
    assert outcomes(await theirs.write_batch(entries(2), T0)) == [None, "trace"]
    index, _ = window_of(T0, PLAN.window_ms)
    keys = {k if isinstance(k, str) else k.decode() for k in await raw_redis.keys("*")}
    assert keys == {
        trace_key("dev:", "a"),
        counters_key("dev:", index),
        trace_key("", "a"),
        counters_key("", index),
    }
    assert [s.trace_id for s in await ours.recent_traces(10, T0)] == ["a"]
    assert len(await read_items(ours, "a")) == 2


@pytest.mark.redis
async def test_single_entry_requests_over_1000_traces_cost_under_3_25_commands_each(
    make_script_store: StoreFactory,
) -> None:
    """1000 one-entry requests, merged ten to a batch, cost at most 3.25 commands per entry."""
    store = make_script_store(replace(PLAN, global_limit=10_000))
    for start in range(0, 1000, 10):
        batch = [entry(f"t{i}") for i in range(start, start + 10)]
        assert all(d.admitted for d in await store.write_batch(batch, T0 + start))
    assert store.usage.commands / 1000 <= 3.25


@pytest.mark.redis
async def test_two_stores_on_one_redis_share_the_limits(
    make_script_store: StoreFactory,
) -> None:
    """Two processes' stores racing on one Redis together admit no more than the limit."""
    policy = replace(PLAN, trace_limit=10)
    first, second = make_script_store(policy), make_script_store(policy)
    writes = [s.write_batch([entry()], T0) for s in (first, second) for _ in range(25)]
    results = await asyncio.gather(*writes)
    assert sum(d.admitted for [d] in results) == 10


# --- Redis only: unix sockets, failures, URLs ----------------------------------------------


@pytest.mark.redis
async def test_a_redis_unix_url_reaches_the_server(
    redis_server: RedisServer, raw_redis: aioredis.Redis
) -> None:
    """redis+unix:///path?db=0 talks to Redis over its unix socket."""
    store = RedisStore(redis_server.unix_url, PLAN)
    try:
        await store.ping()
        [decision] = await store.write_batch([entry()], T0)
    finally:
        await store.close()
    assert decision.admitted
    assert await raw_redis.llen(trace_key("", "a")) == 1


async def test_an_unreachable_redis_raises_storage_error_without_the_password() -> None:
    """Every operation on a dead Redis raises StorageError; no message shows the password."""
    store = RedisStore(f"redis://:s3cret@127.0.0.1:{free_port()}/0", PLAN)  # does not connect
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.write_batch([entry()], T0),
        lambda: store.read_trace("a", T0),
        lambda: store.recent_traces(10, T0),
        store.ping,
    ]
    for call in calls:
        with pytest.raises(StorageError) as raised:
            await call()
        assert "s3cret" not in str(raised.value)
    await store.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@cache:6379/0", "redis://:****@cache:6379/0"),
        ("rediss://user:s3cret@cache.upstash.io:6380", "rediss://user:****@cache.upstash.io:6380"),
        ("redis+unix://:s3cret@/run/redis.sock?db=1", "redis+unix://:****@/run/redis.sock?db=1"),
        (
            "redis+unix:///run/redis.sock?db=1&password=s3cret",
            "redis+unix:///run/redis.sock?db=1&password=****",
        ),
    ],
)
def test_repr_masks_the_password(url: str, shown: str) -> None:
    """A RedisStore's repr names where it stores without ever showing a password."""
    text = repr(RedisStore(url, PLAN))
    assert "s3cret" not in text
    assert shown in text


def test_a_malformed_url_is_a_configuration_error() -> None:
    """A URL redis-py cannot use is refused when the store is built, password masked."""
    with pytest.raises(ConfigurationError, match="TRACESINK_STORE") as raised:
        RedisStore("redis://:s3cret@cache:port/0", PLAN)
    assert "s3cret" not in str(raised.value)


async def test_a_replayed_batch_is_stored_once_and_counted(store: Store) -> None:
    """Spooled entries replay in order without a new decision, count against the limits from
    then on, and a second replay of the same batch stores nothing."""
    spooled = entries(3, "r")
    assert await store.replay_batch("spooled-1", spooled, T0, T0 + 1000) is True
    assert await store.replay_batch("spooled-1", spooled, T0, T0 + 2000) is False
    record = await store.read_trace("r", T0 + 3000)
    assert record is not None
    assert record.items == [e.payload for e in spooled]
    [after] = await store.write_batch([entry("r")], T0 + 3000)
    assert after.remaining["trace"] == PLAN.trace_limit - 4
    assert after.remaining["global"] == PLAN.global_limit - 4


async def test_a_batch_stored_before_its_reply_was_lost_is_not_replayed(store: Store) -> None:
    """When a write ran but its answer never came back, the spooled copy (the same entries,
    with the same ids) is recognised."""
    batch = entries(2, "lost")
    await store.write_batch(batch, T0, "batch-lost")
    assert await store.replay_batch("batch-lost", batch, T0, T0 + 5000) is False
    record = await store.read_trace("lost", T0 + 5000)
    assert record is not None
    assert len(record.items) == 2


@pytest.mark.redis
async def test_two_stores_share_one_daily_command_count_at_no_extra_command(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """With a shared budget, every batch that admits adds its commands (and those its store
    spent since) to the day's count in the window hash: each store then knows the commands of
    both, exactly as Redis counted them, and a batch costs what it costs without a budget."""
    policy = replace(PLAN, shared_budget=True)
    first, second = make_script_store(policy), make_script_store(policy)
    await first.write_batch([entry("warm-up")], T0)  # loads the script
    await second.ping()  # opens its connection (the handshake is not a billed command)
    await raw_redis.config_resetstat()
    counted_before = first.usage.commands + second.usage.commands
    for i in range(5):
        await first.write_batch([entry("a")], T0 + 10 * i)
        await second.write_batch([entry("b"), entry("c")], T0 + 10 * i + 5)
    await first.read_trace("a", T0 + 60)  # a read, counted with the next write
    await first.write_batch([entry("a")], T0 + 70)
    stats = await raw_redis.info("commandstats")
    ours = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_hello"}  # as above
    redis_counted = sum(v["calls"] for k, v in stats.items() if k not in ours)
    day = T0 // 86_400_000
    spent = first.usage.commands + second.usage.commands - counted_before
    assert redis_counted == spent
    assert first.usage.commands_today(day) == counted_before + redis_counted
    assert await raw_redis.get(day_key("", day)) is not None
    cheap = make_script_store(PLAN)
    before = cheap.usage.commands
    await cheap.write_batch([entry("a")], T0 + 80)
    assert cheap.usage.commands - before == 4  # no command more than with the budget
    before = first.usage.commands
    await first.write_batch([entry("a")], T0 + 90)
    assert first.usage.commands - before == 4
