"""Fixtures for the store contract: the same tests run against every backend.

``make_store`` builds a store of the test's ``backend`` (``memory`` or ``redis``) for a policy;
a Redis store talks to a real redis-server, started once per session on a free port and emptied
before each test. ``make_redis_store`` and ``raw_redis`` serve the Redis-only tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis.asyncio as aioredis

from tests.support.redis_server import RedisServer, redis_server_binary, start_redis_server
from tracesink.limits import Policy
from tracesink.store.base import Store
from tracesink.store.memory import MemoryStore
from tracesink.store.redis import RedisStore

StoreFactory = Callable[[Policy], Store]
RedisStoreFactory = Callable[[Policy], RedisStore]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (e.g. apt install redis-server)")
    server = start_redis_server()
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


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
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
def make_store(backend: str, request: pytest.FixtureRequest) -> StoreFactory:
    if backend == "redis":
        make_redis: RedisStoreFactory = request.getfixturevalue("make_redis_store")
        return make_redis
    return lambda policy: MemoryStore("memory://", policy)
