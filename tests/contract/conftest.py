"""Fixtures for the store contract: the same tests run against every backend.

``make_store`` builds a store of the test's ``backend`` (``memory``, ``redis``, ``upstash`` or
``cluster``) for a policy. A Redis store talks to a real redis-server, started once per session on
a free port and emptied before each test; an Upstash store talks to the same redis-server through
the project's Upstash REST emulator (``tracesink.dev.rest_emulator``), never to Upstash itself: the
test ids say ``upstash-rest-emulator``. A cluster store talks to three cluster-enabled
redis-servers (``tests/support/redis_cluster.py``), started once per session and emptied before
each test (``make_cluster_store``; ``test_cluster.py`` has its own cases). ``make_script_store``
serves the tests of what both Redis-protocol stores share (keys, TTLs, scripts, costs);
``make_redis_store``, ``make_upstash_store`` and ``raw_redis`` serve the tests of one of them.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.support.redis_cluster import RedisCluster, start_redis_cluster
from tests.support.redis_server import RedisServer, redis_server_binary, start_redis_server
from tracesink.dev.rest_emulator import UpstashRestServer, start_upstash_rest_server
from tracesink.limits import Policy
from tracesink.store.base import Store
from tracesink.store.cluster import ClusterStore
from tracesink.store.memory import MemoryStore
from tracesink.store.redis import RedisStore
from tracesink.store.upstash import UpstashStore

StoreFactory = Callable[[Policy], Store]
RedisStoreFactory = Callable[[Policy], RedisStore]
UpstashStoreFactory = Callable[..., UpstashStore]  # (policy, **UpstashStore options)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (e.g. apt install redis-server)")
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """Three primaries (redis-server --cluster-enabled yes), started once: ~3 s."""
    if redis_server_binary() is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server or redis-cli is not installed (e.g. apt install redis-server)")
    cluster = start_redis_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
async def make_cluster_store(redis_cluster: RedisCluster) -> AsyncIterator[StoreFactory]:
    """ClusterStores on the emptied cluster."""
    redis_cluster.flush()
    stores: list[ClusterStore] = []

    def make(policy: Policy) -> ClusterStore:
        stores.append(ClusterStore(redis_cluster.url, policy))
        return stores[-1]

    yield make
    await asyncio.gather(*(store.close() for store in stores))


@pytest.fixture(scope="session")
def upstash_server(redis_server: RedisServer) -> Iterator[UpstashRestServer]:
    server = start_upstash_rest_server(redis_server.url)
    yield server
    server.stop()


@pytest.fixture
async def raw_redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client on an emptied server, to look at keys as any Redis user would."""
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    await client.script_flush()
    yield client
    await client.aclose()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        # the Upstash store, over the REST emulator (not Upstash): the id says so
        pytest.param("upstash", marks=pytest.mark.redis, id="upstash-rest-emulator"),
        # three primaries: the batch in two steps (decide, then appends per shard)
        pytest.param("cluster", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def make_redis_store(
    redis_server: RedisServer, raw_redis: aioredis.Redis
) -> AsyncIterator[RedisStoreFactory]:
    stores: list[RedisStore] = []

    def make(policy: Policy) -> RedisStore:
        stores.append(RedisStore(redis_server.url, policy))
        return stores[-1]

    yield make
    await asyncio.gather(*(store.close() for store in stores))


@pytest.fixture
async def make_upstash_store(
    upstash_server: UpstashRestServer, raw_redis: aioredis.Redis
) -> AsyncIterator[UpstashStoreFactory]:
    """UpstashStores on the REST emulator, whose counts and faults start afresh for each test."""
    upstash_server.reset()
    stores: list[UpstashStore] = []

    def make(policy: Policy, **options: Any) -> UpstashStore:
        stores.append(UpstashStore(upstash_server.store_url, policy, **options))
        return stores[-1]

    yield make
    await asyncio.gather(*(store.close() for store in stores))


@pytest.fixture
def make_store(backend: str, request: pytest.FixtureRequest) -> StoreFactory:
    if backend == "redis":
        make_redis: RedisStoreFactory = request.getfixturevalue("make_redis_store")
        return make_redis
    if backend == "upstash":
        make_upstash: UpstashStoreFactory = request.getfixturevalue("make_upstash_store")
        return make_upstash
    if backend == "cluster":
        make_cluster: StoreFactory = request.getfixturevalue("make_cluster_store")
        return make_cluster
    return lambda policy: MemoryStore("memory://", policy)


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("upstash", marks=pytest.mark.redis, id="upstash-rest-emulator"),
    ]
)
def make_script_store(request: pytest.FixtureRequest) -> StoreFactory:
    """A store that runs the Lua scripts on the test's redis-server: natively or over REST (the
    Upstash store on the REST emulator)."""
    factory: StoreFactory = request.getfixturevalue(f"make_{request.param}_store")
    return factory
