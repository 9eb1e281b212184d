"""Several instances, one truth: two `tracesink serve` processes on one Redis share the limits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer, redis_server_binary, running_redis_server
from tests.support.service import Service, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

GLOBAL_LIMIT = 300
TRACE_LIMIT = 40


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis_server() as server:
        yield server


@pytest.fixture
def two_instances(redis_server: RedisServer) -> Iterator[tuple[Service, Service]]:
    redis.Redis.from_url(redis_server.url).flushall()
    env = {
        "TRACESINK_STORE": redis_server.url,
        "TRACESINK_GLOBAL_LIMIT": str(GLOBAL_LIMIT),
        "TRACESINK_TRACE_LIMIT": str(TRACE_LIMIT),
    }
    with serving(env) as first, serving(env) as second:
        yield first, second


async def hammer(services: tuple[Service, Service], traces: list[str]) -> list[int]:
    """POST one entry per trace id, all at once, alternating between the two instances."""
    limits = httpx.Limits(max_connections=32)
    # No pool timeout: on a busy machine requests may queue for a connection a while.
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, pool=None)) as client:

        async def send(index: int, trace_id: str) -> int:
            base = services[index % 2].url
            body = {"trace_id": trace_id, "message": f"m{index}", "system": "manual"}
            return (await client.post(f"{base}/log", json=body)).status_code

        return await asyncio.gather(*(send(i, t) for i, t in enumerate(traces)))


def test_one_trace_gets_exactly_its_limit_across_instances(
    two_instances: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """200 concurrent entries for one trace through two instances: exactly 40 stored."""
    statuses = asyncio.run(hammer(two_instances, ["shared"] * 200))
    stored = redis.Redis.from_url(redis_server.url).llen("logs:shared")
    admitted = statuses.count(200)
    print(
        f"one trace: sent 200, acknowledged {admitted}, refused {statuses.count(429)}, "
        f"stored {stored - 1} entries + 1 drop marker"
    )
    assert admitted == TRACE_LIMIT
    assert statuses.count(429) == 200 - TRACE_LIMIT
    assert stored == TRACE_LIMIT + 1  # the entries and one drop marker after them


def test_the_global_limit_holds_exactly_across_instances(
    two_instances: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """600 concurrent entries over 600 traces through two instances: exactly 300 stored."""
    statuses = asyncio.run(hammer(two_instances, [f"t{i}" for i in range(600)]))
    client = redis.Redis.from_url(redis_server.url)
    entries = sum(
        1
        for key in client.scan_iter("logs:*")
        for item in client.lrange(key, 0, -1)
        if b'"kind":"dropped"' not in item and b'"kind": "dropped"' not in item
    )
    print(f"global: sent 600, acknowledged {statuses.count(200)}, stored {entries}")
    assert statuses.count(200) == GLOBAL_LIMIT
    assert statuses.count(429) == 600 - GLOBAL_LIMIT
    assert entries == GLOBAL_LIMIT
