"""The Redis store's own round trip (store/redis.py ``_round_trip``) on a real redis-server: one
timeout bounds a call's send and its reads, an expiry is a store failure naming the timeout
(which the spool takes), and the connection it happened on is never used again."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import RedisServer, redis_server_binary, running_redis_server
from tracesink.errors import StorageError
from tracesink.limits import Policy
from tracesink.model import PreparedEntry
from tracesink.store import open_store
from tracesink.store import redis as redis_store

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

POLICY = Policy(
    global_limit=1000, trace_limit=1000, system_limits={}, window_ms=60_000, ttl_ms=60_000
)
TIMEOUT_S = 0.3


def entry(n: int) -> PreparedEntry:
    return PreparedEntry(f"id{n:04d}", "t", "manual", json.dumps({"id": f"id{n:04d}"}).encode())


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with running_redis_server() as running:
        yield running


async def test_a_server_that_stops_answering_fails_the_call_in_time_and_the_next_call_works(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped server (SIGSTOP, as a hung or partitioned one): the batch fails as a
    StorageError naming the timeout and the server, after the command timeout and not much
    later; once the server goes on, the next batch is stored on a new connection and the first
    is not (it never reached the server)."""
    monkeypatch.setattr(redis_store, "COMMAND_TIMEOUT_S", TIMEOUT_S)
    store = open_store(server.url, POLICY)
    try:
        await store.write_batch([entry(0)], int(time.time() * 1000))  # connected and kept
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StorageError, match=r"Timeout reading from 127\.0\.0\.1:\d+"):
                await store.write_batch([entry(1)], int(time.time() * 1000))
            waited = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert TIMEOUT_S <= waited < TIMEOUT_S + 1.0
        [decision] = await store.write_batch([entry(2)], int(time.time() * 1000))
        assert decision.limited_by is None
    finally:
        await store.close()
    client = redis.Redis(port=server.port)
    try:
        stored = [json.loads(item)["id"] for item in client.lrange("logs:{t}", 0, -1)]
        # The timed-out batch's script may still have run once, when the server went on and
        # read what was sent (the spool's replay, by batch id, covers that); never again.
        assert stored in (["id0002", "id0001", "id0000"], ["id0002", "id0000"])
    finally:
        client.close()
