"""The replica wait on a real primary with a real replica (``redis-server --replicaof``): a batch
is acknowledged once the replica has it; when the replica does not confirm in time, the batch is
answered 202 queued, kept in the spool, and replayed once, without a second copy, when the
replica is back. A replica is made unresponsive by SIGSTOP, as a stalled or partitioned one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.support.redis_server import redis_server_binary, running_redis_server
from tests.support.sentinel import Replicated, running_replicated
from tracesink.errors import ConfigurationError
from tracesink.limits import Policy
from tracesink.model import PreparedEntry
from tracesink.store import open_store
from tracesink.store.redis import RedisStore
from tracesink.store.replica_wait import ReplicasBehind, ReplicaWait
from tracesink.store.spool import Spool
from tracesink.store.spooling import SpoolingStore

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

POLICY = Policy(global_limit=1000, trace_limit=3, system_limits={}, window_ms=60_000, ttl_ms=60_000)
WAIT = ReplicaWait(1, 200)


def entry(n: int, trace: str = "t") -> PreparedEntry:
    return PreparedEntry(f"id{n:04d}", trace, "manual", json.dumps({"id": f"id{n:04d}"}).encode())


def now_ms() -> int:
    return int(time.time() * 1000)


def ids_on(port: int, trace: str = "t") -> list[str]:
    """The entry ids of ``trace``'s list on the server at ``port``, oldest first."""
    client = redis.Redis(port=port)
    try:
        items = client.lrange("logs:{" + trace + "}", 0, -1)
    finally:
        client.close()
    return [json.loads(item)["id"] for item in reversed(items) if b'"kind"' not in item]


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    with running_replicated(1, sentinels=False) as topology:
        yield topology


@pytest.fixture
def paused(replicated: Replicated) -> Iterator[Callable[[bool], None]]:
    """``pause(True)`` stops the replica (SIGSTOP), ``pause(False)`` lets it go on; it goes on
    after the test whatever happened."""
    replica = replicated.replicas[0].process

    def pause(stopped: bool) -> None:
        os.kill(replica.pid, signal.SIGSTOP if stopped else signal.SIGCONT)

    try:
        yield pause
    finally:
        pause(False)


@pytest.fixture
async def store(replicated: Replicated) -> AsyncIterator[RedisStore]:
    redis.Redis(port=replicated.primary.port).flushall()
    opened = open_store(replicated.primary.url, POLICY, wait=WAIT)
    assert isinstance(opened, RedisStore)
    try:
        yield opened
    finally:
        await opened.close()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 10 s) until ``condition()`` holds."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - polls state another task changes
            await asyncio.sleep(0.02)


async def test_a_batch_the_replica_confirms_is_answered_stored_and_is_on_the_replica(
    store: RedisStore, replicated: Replicated
) -> None:
    """With a healthy replica, write_batch answers the limits' decisions as without the wait
    (admitted, not queued; the fourth entry of a trace limited to 3 refused), the WAIT is
    counted as one more command, and the replica holds the entries as soon as it answers."""
    before = store.usage.commands
    decisions = await store.write_batch([entry(n) for n in range(4)], now_ms())
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert not any(d.queued for d in decisions)
    scripted = store.usage.commands - before
    assert scripted > 2  # EVALSHA, its inner calls, and WAIT
    assert ids_on(replicated.replicas[0].port) == ["id0000", "id0001", "id0002"]


async def test_a_server_that_forgot_the_script_is_sent_it_and_the_wait_still_holds(
    store: RedisStore, replicated: Replicated
) -> None:
    """After SCRIPT FLUSH (as after a restart or a failover) the pipelined EVALSHA and WAIT
    meet NOSCRIPT: the script is loaded and both sent again; the batch is confirmed, once."""
    await store.write_batch([entry(1)], now_ms())
    redis.Redis(port=replicated.primary.port).script_flush()
    decisions = await store.write_batch([entry(2)], now_ms())
    assert [(d.admitted, d.queued) for d in decisions] == [(True, False)]
    assert ids_on(replicated.replicas[0].port) == ["id0001", "id0002"]


async def test_a_batch_the_replica_does_not_confirm_raises_replicas_behind_with_its_decisions(
    store: RedisStore, replicated: Replicated, paused: Callable[[bool], None]
) -> None:
    """A stopped replica confirms nothing: write_batch raises ReplicasBehind after about the
    wait's timeout, naming the setting and how many replicas confirmed, and carrying the
    primary's decisions; the primary holds the batch."""
    paused(True)
    started = time.monotonic()
    with pytest.raises(ReplicasBehind) as raised:
        await store.write_batch([entry(n) for n in range(4)], now_ms())
    took = time.monotonic() - started
    assert 0.15 < took < 3.0, f"the wait took {took:.2f}s for a timeout of 0.2s"
    assert "0 of the 1 replicas TRACESINK_REDIS_WAIT_REPLICAS asks for" in str(raised.value)
    assert [d.admitted for d in raised.value.decisions] == [True, True, True, False]
    assert ids_on(replicated.primary.port) == ["id0000", "id0001", "id0002"]


async def test_an_unconfirmed_batch_is_queued_spooled_and_replayed_once_the_replica_is_back(
    store: RedisStore, replicated: Replicated, paused: Callable[[bool], None], tmp_path: Path
) -> None:
    """Behind the spool, a batch the replica did not confirm is answered queued for what the
    primary admitted (the refused entry stays refused, and is not spooled). While the replica
    is stopped the spool keeps it (the replay's own confirmation fails too); once it runs again
    the replay finds the batch stored, stores nothing more, and empties the spool: primary and
    replica hold each entry once."""
    spool = Spool(tmp_path / "spool", 1 << 20, owner=store.display)
    spooling = SpoolingStore(store, spool, POLICY, 100)
    await spooling.open(now_ms())
    try:
        paused(True)
        decisions = await spooling.write_batch([entry(n) for n in range(4)], now_ms())
        assert [(d.admitted, d.queued) for d in decisions] == [
            (True, True),
            (True, True),
            (True, True),
            (False, False),
        ]
        assert spooling.spool_status().entries == 3
        await asyncio.sleep(1.0)  # replays are tried meanwhile, and fail: the replica is stopped
        assert spooling.spool_status().entries == 3
        paused(False)
        await until(lambda: spooling.spool_status().entries == 0)
    finally:
        await spool.close()
    expected = ["id0000", "id0001", "id0002"]
    assert ids_on(replicated.primary.port) == expected
    await until(lambda: ids_on(replicated.replicas[0].port) == expected)


async def test_a_replay_found_stored_is_confirmed_only_once_the_replica_has_caught_up(
    store: RedisStore, replicated: Replicated, paused: Callable[[bool], None]
) -> None:
    """A replay of a batch stored before writes nothing, on a connection that did not write the
    batch (another process, after a restart). WAIT counts from the connection's last write, and
    which commands count as one differs between Redis versions: the store sends a replicated
    PUBLISH first, which counts on every version. The batch is written unconfirmed (replica
    stopped); a second store's replay raises ReplicasBehind while the replica is stopped, and
    answers False (already stored) once it runs again."""
    paused(True)
    with pytest.raises(ReplicasBehind):
        await store.write_batch([entry(1)], now_ms(), "batch-1")
    restarted = open_store(replicated.primary.url, POLICY, wait=WAIT)
    try:
        with pytest.raises(ReplicasBehind, match="replayed a spooled batch"):
            await restarted.replay_batch("batch-1", [entry(1)], now_ms(), now_ms())
        paused(False)
        assert await restarted.replay_batch("batch-1", [entry(1)], now_ms(), now_ms()) is False
    finally:
        await restarted.close()


async def test_a_replay_that_stores_waits_for_the_replica_too(
    store: RedisStore, replicated: Replicated, paused: Callable[[bool], None]
) -> None:
    """A replay that stores its batch (a failover lost it) is confirmed by the WAIT behind its
    own script: with the replica stopped it raises ReplicasBehind (the spool keeps it), and the
    next try finds it stored and confirms it."""
    paused(True)
    with pytest.raises(ReplicasBehind):
        await store.replay_batch("lost", [entry(7)], now_ms(), now_ms())
    paused(False)
    assert await store.replay_batch("lost", [entry(7)], now_ms(), now_ms()) is False
    await until(lambda: ids_on(replicated.replicas[0].port) == ["id0007"])


async def test_a_primary_without_replicas_never_confirms() -> None:
    """Waiting for a replica a primary does not have answers ReplicasBehind, each time: the
    setting promises copies that do not exist."""
    with running_redis_server() as server:
        store = open_store(server.url, POLICY, wait=ReplicaWait(1, 50))
        try:
            with pytest.raises(ReplicasBehind, match="0 of the 1 replicas"):
                await store.write_batch([entry(1)], now_ms())
        finally:
            await store.close()


@pytest.mark.parametrize("url", ["memory://", "upstash+https://:token@example.com"])
def test_the_wait_on_a_store_without_replicas_is_refused_at_start(url: str) -> None:
    """memory:// and Upstash's REST API have no replicas to wait for: the setting is refused,
    named, with what to do; the URL's token is not shown."""
    with pytest.raises(ConfigurationError) as refused:
        open_store(url, POLICY, wait=ReplicaWait(2, 100, setting="--redis-wait-replicas"))
    message = str(refused.value)
    assert message.startswith("--redis-wait-replicas=2 needs a redis://")
    assert "set it to 0" in message
    assert "token" not in message.replace("****", "")
