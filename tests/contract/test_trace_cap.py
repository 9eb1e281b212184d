"""A trace's list is bounded (issue 21, item 10): every store keeps at most
``Policy.max_trace_entries`` items per trace; the oldest go, and a trimmed marker at the oldest
end counts them, so a reader is told. Run over every backend (``make_store``)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tests.contract.test_store_contract import PLAN, T0, entry, outcomes, read_items
from tests.support.redis_server import RedisServer
from tests.support.service import serving
from tracesink.config import load_settings
from tracesink.errors import ConfigurationError
from tracesink.pipeline import policy_from
from tracesink.store.keys import trace_key

CAP = 10
# A short window (the case): the trace limit admits again every second.
SHORT = replace(PLAN, trace_limit=100, window_ms=1_000, max_trace_entries=CAP)


def trimmed(count: int) -> bytes:
    return msgspec.json.encode({"kind": "trimmed", "count": count})


async def test_a_list_keeps_its_newest_items_and_counts_the_rest(make_store: StoreFactory) -> None:
    """Up to the cap nothing goes; past it the list holds a trimmed marker (oldest end) and the
    newest cap - 1 items, and the marker's count grows with every item removed."""
    store = make_store(SHORT)
    sent = [entry(message=f"m{i}") for i in range(25)]
    for i, one in enumerate(sent[:CAP]):
        assert outcomes(await store.write_batch([one], T0 + i)) == [None]
    assert await read_items(store, "a", T0 + CAP) == [e.payload for e in sent[:CAP]]
    assert outcomes(await store.write_batch(sent[CAP:13], T0 + CAP)) == [None] * 3
    assert await read_items(store, "a", T0 + CAP) == [trimmed(4), *[e.payload for e in sent[4:13]]]
    for i, one in enumerate(sent[13:]):
        await store.write_batch([one], T0 + 20 + i)
    assert await read_items(store, "a", T0 + 40) == [
        trimmed(16),
        *[e.payload for e in sent[16:]],
    ]


async def test_a_list_written_for_many_windows_stays_within_the_cap(
    make_store: StoreFactory,
) -> None:
    """The issue's reproduction: with a 1-second window and a trace limit of 100, 504 entries
    of one trace are all admitted (84 at the end of each of six windows); the list holds 100
    items, the marker counting the 405 oldest, and the newest 99 entries."""
    store = make_store(replace(SHORT, trace_limit=100, max_trace_entries=100))
    sent = []
    for second in range(6):
        batch = [entry(message=f"{second}-{i}") for i in range(84)]
        decisions = await store.write_batch(batch, T0 + second * 1_000 + 999)
        assert outcomes(decisions) == [None] * 84
        sent += batch
    items = await read_items(store, "a", T0 + 6_000)
    assert items == [trimmed(405), *[e.payload for e in sent[405:]]]


async def test_refusals_are_marked_within_the_cap(make_store: StoreFactory) -> None:
    """A drop marker is an item like any other: pushed past the cap, it trims too, and its
    count still reaches the reader."""
    store = make_store(replace(SHORT, trace_limit=CAP - 1, max_trace_entries=CAP))
    assert outcomes(await store.write_batch([entry() for _ in range(CAP)], T0)) == [None] * (
        CAP - 1
    ) + ["trace"]
    items = await read_items(store, "a", T0)
    assert len(items) == CAP
    assert msgspec.json.decode(items[-1])["kind"] == "dropped"
    assert outcomes(await store.write_batch([entry()], T0 + 1_999)) == [None]
    items = await read_items(store, "a", T0 + 1_999)
    assert items[0] == trimmed(2)  # 11 items: the newest 9 stay, beside the marker
    assert len(items) == CAP
    assert msgspec.json.decode(items[-2])["kind"] == "dropped"


async def test_a_replayed_batch_is_trimmed_as_a_written_one(make_store: StoreFactory) -> None:
    """Entries replayed from the spool push past the cap like any write, and trim the same."""
    store = make_store(SHORT)
    sent = [entry(message=f"r{i}") for i in range(CAP + 5)]
    assert await store.replay_batch("spooled-1", sent, T0, T0 + 5)
    assert await read_items(store, "a", T0 + 5) == [trimmed(6), *[e.payload for e in sent[6:]]]


@pytest.mark.redis
async def test_a_push_past_the_cap_costs_two_commands_more(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """A trace at its cap pays RPOP and RPUSH on each call that pushes to it (docs/keys.md),
    nothing else more: 4 commands become 6; below the cap a write costs what it did."""
    store = make_script_store(SHORT)
    await store.write_batch([entry() for _ in range(CAP)], T0)
    await raw_redis.config_resetstat()
    before = store.usage.commands
    await store.write_batch([entry()], T0 + 1)
    stats = await raw_redis.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
    assert calls["rpop"] == 1
    assert calls["rpush"] == 1
    assert store.usage.commands - before == 6  # EVALSHA, HMGET, LPUSH, RPOP, RPUSH, HSET
    assert await raw_redis.llen(trace_key("", "a")) == CAP


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["memory", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_reader_is_told_what_was_trimmed(backend: str, request: pytest.FixtureRequest) -> None:
    """Through a real `tracesink serve`: GET /logs/{id} of a trimmed trace answers the newest
    entries, the trimmed marker first (with a message), and `trimmed`, the count gone."""
    env = {"TRACESINK_MAX_TRACE_ENTRIES": "5"}
    if backend == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        request.getfixturevalue("raw_redis")  # an emptied database
        env["TRACESINK_STORE"] = server.url
    with serving(env) as service:
        for i in range(8):
            answer = httpx.post(f"{service.url}/log", json={"trace_id": "t", "message": f"m{i}"})
            assert answer.status_code == 200
        trace = httpx.get(f"{service.url}/logs/t").json()
    assert trace["trimmed"] == 4
    assert trace["count"] == 4
    assert [e.get("message") for e in trace["entries"][1:]] == ["m4", "m5", "m6", "m7"]
    marker = trace["entries"][0]
    assert marker["kind"] == "trimmed"
    assert marker["count"] == 4
    assert "4 older items trimmed" in marker["message"]


def test_the_cap_is_a_setting_with_a_default_and_a_floor() -> None:
    """TRACESINK_MAX_TRACE_ENTRIES reaches the stores' policy (1000 when unset); below 2 (no
    room for the newest entry beside the marker) start-up stops, naming the variable."""
    assert policy_from(load_settings({})).max_trace_entries == 1000
    assert policy_from(load_settings({"TRACESINK_MAX_TRACE_ENTRIES": "7"})).max_trace_entries == 7
    with pytest.raises(ConfigurationError, match="TRACESINK_MAX_TRACE_ENTRIES='1' is not valid"):
        load_settings({"TRACESINK_MAX_TRACE_ENTRIES": "1"})
