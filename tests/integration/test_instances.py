"""Several instances, one truth: two `tracesink serve` processes on one Redis share the limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer, redis_server_binary
from tests.support.service import Service, serving
from tracesink.store.keys import trace_key

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

GLOBAL_LIMIT = 300
TRACE_LIMIT = 40


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


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    entry_id: str | None  # the id a 200 answer gave the entry


async def hammer(services: tuple[Service, Service], traces: list[str]) -> list[Answer]:
    """POST one entry per trace id, all at once, alternating between the two instances."""
    limits = httpx.Limits(max_connections=32)
    # No pool timeout: on a busy machine requests may queue for a connection a while.
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30, pool=None)) as client:

        async def send(index: int, trace_id: str) -> Answer:
            base = services[index % 2].url
            body = {"trace_id": trace_id, "message": f"m{index}", "system": "manual"}
            response = await client.post(f"{base}/log", json=body)
            entry_id = response.json()["id"] if response.status_code == 200 else None
            return Answer(response.status_code, entry_id)

        return await asyncio.gather(*(send(i, t) for i, t in enumerate(traces)))


def stored_ids(url: str) -> list[str]:
    """The id of every entry in every trace list (``logs:{…}``), drop markers left out."""
    client = redis.Redis.from_url(url)
    try:
        documents = [
            json.loads(item)
            for key in cast(Iterator[bytes], client.scan_iter("logs:{*"))
            for item in cast(list[bytes], client.lrange(key, 0, -1))
        ]
    finally:
        client.close()
    return [document["id"] for document in documents if document.get("kind") != "dropped"]


def check_identities(answers: list[Answer], stored: list[str]) -> None:
    """The entries stored are exactly those answered 200, by id, each once: none lost, none
    stored twice, none stored that either instance refused."""
    acknowledged = [answer.entry_id for answer in answers if answer.entry_id is not None]
    assert len(set(acknowledged)) == len(acknowledged), "two answers gave the same id"
    assert len(set(stored)) == len(stored), f"stored twice: {len(stored) - len(set(stored))}"
    lost = set(acknowledged) - set(stored)
    refused_but_stored = set(stored) - set(acknowledged)
    assert not lost, f"{len(lost)} entries answered 200 are not stored, e.g. {sorted(lost)[:3]}"
    assert not refused_but_stored, f"{len(refused_but_stored)} stored but not answered 200"


def test_one_trace_gets_exactly_its_limit_across_instances(
    two_instances: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """200 concurrent entries for one trace through two instances: exactly 40 answered 200, the
    others 429, and the 40 stored are those 40, by id (then one drop marker)."""
    answers = asyncio.run(hammer(two_instances, ["shared"] * 200))
    statuses = [answer.status for answer in answers]
    stored = stored_ids(redis_server.url)
    length = redis.Redis.from_url(redis_server.url).llen(trace_key("", "shared"))
    admitted = statuses.count(200)
    print(
        f"one trace: sent 200, acknowledged {admitted}, refused {statuses.count(429)}, "
        f"stored {len(stored)} entries + {length - len(stored)} drop marker"
    )
    assert admitted == TRACE_LIMIT
    assert statuses.count(429) == 200 - TRACE_LIMIT
    assert length == TRACE_LIMIT + 1  # the entries and one drop marker after them
    check_identities(answers, stored)


def test_the_global_limit_holds_exactly_across_instances(
    two_instances: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """600 concurrent entries over 600 traces through two instances: exactly 300 answered 200,
    the others 429, and the 300 stored are those 300, by id."""
    answers = asyncio.run(hammer(two_instances, [f"t{i}" for i in range(600)]))
    statuses = [answer.status for answer in answers]
    stored = stored_ids(redis_server.url)
    print(f"global: sent 600, acknowledged {statuses.count(200)}, stored {len(stored)}")
    assert statuses.count(200) == GLOBAL_LIMIT
    assert statuses.count(429) == 600 - GLOBAL_LIMIT
    check_identities(answers, stored)
