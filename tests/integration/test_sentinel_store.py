"""The Sentinel store on real processes: a primary with a replica, three Sentinels, each side
with its own password. It finds the primary through the Sentinels, logs in to each with its
own credentials, and follows a failover (``SENTINEL FAILOVER``: the old primary becomes a
replica and answers READONLY). The SIGKILL failover under load: tests/fault/."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from tests.support.redis_server import redis_server_binary
from tests.support.sentinel import SERVICE, Replicated, running_replicated
from tracesink.errors import StorageError
from tracesink.limits import Policy
from tracesink.model import PreparedEntry
from tracesink.store import open_store
from tracesink.store.replica_wait import ReplicaWait
from tracesink.store.sentinel import SentinelStore
from tracesink.store.spool import Spool
from tracesink.store.spooling import SpoolingStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

DATA_PASSWORD = "data-pw-1234"  # noqa: S105  # made up, for the test's own servers
SENTINEL_PASSWORD = "sentinel-pw-5678"  # noqa: S105
POLICY = Policy(
    global_limit=1000, trace_limit=1000, system_limits={}, window_ms=60_000, ttl_ms=60_000
)


def entry(n: int) -> PreparedEntry:
    return PreparedEntry(f"id{n:04d}", "t", "manual", json.dumps({"id": f"id{n:04d}"}).encode())


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def topology() -> Iterator[Replicated]:
    with running_replicated(
        1, sentinels=True, password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD
    ) as running:
        yield running


def url(topology: Replicated, sentinel_password: str = SENTINEL_PASSWORD) -> str:
    assert topology.sentinels is not None
    return (
        topology.sentinels.url(userinfo=f":{DATA_PASSWORD}@")
        + f"?sentinel_password={sentinel_password}"
    )


@pytest.fixture
async def store(topology: Replicated) -> AsyncIterator[SentinelStore]:
    opened = open_store(url(topology), POLICY, wait=ReplicaWait(1, 200))
    assert isinstance(opened, SentinelStore)
    try:
        yield opened
    finally:
        await opened.close()


def ids_on(topology: Replicated, port: int) -> list[str]:
    client = redis.Redis(port=port, password=topology.password)
    try:
        items = client.lrange("logs:{t}", 0, -1)
    finally:
        client.close()
    return [json.loads(item)["id"] for item in reversed(items)]


async def test_the_store_finds_the_primary_through_the_sentinels_with_both_passwords(
    store: SentinelStore, topology: Replicated
) -> None:
    """A batch written through the Sentinel URL is on the primary the Sentinels name (and, with
    the wait, on its replica) and reads back through the store."""
    decisions = await store.write_batch([entry(1), entry(2)], now_ms())
    assert all(d.admitted and not d.queued for d in decisions)
    primary = topology.current_primary()
    assert ids_on(topology, primary.port)[-2:] == ["id0001", "id0002"]
    [replica] = [s for s in topology.servers if s is not primary]
    assert ids_on(topology, replica.port)[-2:] == ["id0001", "id0002"]
    record = await store.read_trace("t", now_ms())
    assert record is not None
    assert len(record.items) >= 2


async def test_a_wrong_sentinel_password_is_a_storage_error_that_shows_no_password(
    topology: Replicated,
) -> None:
    """Sentinels that refuse the login name no primary: the store reports it as a StorageError
    (the spool's cue), with the URL masked."""
    opened = open_store(url(topology, "wrong-password-0"), POLICY)
    try:
        with pytest.raises(StorageError) as failed:
            await opened.ping()
    finally:
        await opened.close()
    message = str(failed.value)
    assert "No master found" in message
    assert "wrong-password-0" not in message
    assert DATA_PASSWORD not in message


async def test_across_a_failover_every_acknowledged_batch_ends_on_the_new_primary_once(
    store: SentinelStore, topology: Replicated, tmp_path: Path
) -> None:
    """Batches written through the spool while ``SENTINEL FAILOVER`` runs. Until the Sentinels
    turn the old primary into a replica it still takes writes, and has no replica left to
    confirm them: those batches are answered queued (ReplicasBehind), as are those the new
    primary takes before a replica has attached to it. Once it has one, the spool drains: the
    new primary holds every batch exactly once, in order (the old primary's copies were
    thrown away when it resynced from the new one)."""
    spool = Spool(tmp_path / "spool", 1 << 20, owner=store.display)
    spooling = SpoolingStore(store, spool, POLICY, 100)
    await spooling.open(now_ms())
    before = topology.current_primary()
    assert topology.sentinels is not None
    sentinel = redis.Redis(port=topology.sentinels.ports[0], password=SENTINEL_PASSWORD)
    written: list[str] = []
    queued = 0
    try:
        sentinel.sentinel_failover(SERVICE)
        deadline = time.monotonic() + 30
        n = 100
        while not written or topology.current_primary() is before or queued_now(spooling):
            assert time.monotonic() < deadline, f"not settled; {len(written)} written"
            [decision] = await spooling.write_batch([entry(n)], now_ms())
            assert decision.admitted
            queued += decision.queued
            written.append(f"id{n:04d}")
            n += 1
            await asyncio.sleep(0.05)
    finally:
        sentinel.close()
        await spool.close()
    after = topology.current_primary()
    assert after is not before
    assert queued > 0, "no batch was queued: the failover was not felt"
    stored = ids_on(topology, after.port)
    assert [i for i in stored if i in written] == written


def queued_now(spooling: SpoolingStore) -> bool:
    return spooling.spool_status().entries > 0
