"""Namespaces cannot overlap: two `tracesink serve` processes on ONE Redis database, with the
prefixes ``kp:`` and ``kp:logs:`` (issue 21, item 9), through HTTP as their clients see them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.redis_server import RedisServer, redis_server_binary
from tests.support.service import Service, serving
from tracesink.store.keys import key_pattern

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

A, B = "kp:", "kp:logs:"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@pytest.fixture
def a_and_b(redis_server: RedisServer) -> Iterator[tuple[Service, Service]]:
    redis.Redis.from_url(redis_server.url).flushall()
    env = {"TRACESINK_STORE": redis_server.url}
    with (
        serving({**env, "TRACESINK_KEY_PREFIX": A}) as a,
        serving({**env, "TRACESINK_KEY_PREFIX": B}) as b,
    ):
        yield a, b


def log(service: Service, trace_id: str, message: str = "m") -> httpx.Response:
    return httpx.post(f"{service.url}/log", json={"trace_id": trace_id, "message": message})


def test_a_cannot_read_b_s_traces(a_and_b: tuple[Service, Service]) -> None:
    """B's trace secret-b is B's alone: A answers 404 for logs:secret-b (the id that spelled
    B's key under the old layout) and does not list it; B reads it."""
    a, b = a_and_b
    assert log(b, "secret-b", "b's secret").status_code == 200
    assert httpx.get(f"{a.url}/logs/logs:secret-b").status_code == 404
    assert httpx.get(f"{a.url}/traces").json()["traces"] == []
    answer = httpx.get(f"{b.url}/logs/secret-b")
    assert answer.status_code == 200
    assert [e["message"] for e in answer.json()["entries"]] == ["b's secret"]


def test_a_cannot_corrupt_b_s_counters(
    a_and_b: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """A client of A writes to every trace id that could name one of B's counter hashes or day
    keys (old layout and new, around now); B goes on answering 200 (no WRONGTYPE), and every
    key in the database belongs to exactly one of the two prefixes."""
    a, b = a_and_b
    assert log(b, "b-before").status_code == 200
    now_ms = int(time.time() * 1000)
    windows = [now_ms // HOUR_MS + d for d in (-1, 0, 1)]
    day = now_ms // DAY_MS
    hostile = [f"tracesink:rl:{n}" for n in windows] + [f"tracesink:day:{day}"]
    hostile += [f"rl:{n}" for n in windows] + [f"day:{day}", "rl:", "day:", "tracesink"]
    for trace_id in hostile:
        assert log(a, trace_id).status_code == 200, trace_id
    for i in range(5):
        assert log(b, "b-after", str(i)).status_code == 200
    assert httpx.get(f"{b.url}/logs/b-after").json()["count"] == 5
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    keys = [str(k) for k in client.keys("*")]
    ours, theirs = key_pattern(A), key_pattern(B)
    assert all(bool(ours.fullmatch(k)) != bool(theirs.fullmatch(k)) for k in keys), keys
    assert sum(1 for k in keys if theirs.fullmatch(k)) == 3  # b-before, b-after, one hash
    for key in keys:
        kind = key.removeprefix(B if theirs.fullmatch(key) else A).partition("{")[0]
        assert client.type(key) == {"logs:": "list", "rl:": "hash", "day:": "string"}[kind]
