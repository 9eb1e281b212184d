"""Reads cannot starve writes (issue 21, item 8): a burst of heavy reads queues for the reads'
own connections, while the writer keeps its own, on a real `tracesink serve` and redis-server."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.support.redis_server import RedisServer, redis_server_binary, running_redis_server
from tests.support.service import Service, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

TRACES = 500
ENTRIES_PER_TRACE = 20  # each read decodes 10,000 entries: heavy enough to queue
READERS = 300
WRITERS = 100
# A hosted Redis caps connections (30 on some free plans): far fewer than 300 concurrent reads
# would open if each took a connection of its own, as they did (issue 21: 503s, writes spooled).
MAX_CLIENTS = 30


@pytest.fixture(scope="module")
def capped_redis() -> Iterator[RedisServer]:
    with running_redis_server(["--maxclients", str(MAX_CLIENTS)]) as server:
        yield server


@pytest.fixture
def service(capped_redis: RedisServer) -> Iterator[Service]:
    env = {
        "TRACESINK_STORE": capped_redis.url,
        "TRACESINK_GLOBAL_LIMIT": "100000",
        "TRACESINK_TRACE_LIMIT": "1000",
    }
    with serving(env) as running:
        yield running


async def seed(http: httpx.AsyncClient) -> None:
    for start in range(0, TRACES, 50):
        lines = [
            json.dumps({"trace_id": f"t{i}", "message": "x" * 200, "level": "info"})
            for i in range(start, start + 50)
            for _ in range(ENTRIES_PER_TRACE)
        ]
        response = await http.post(
            "/logs", content="\n".join(lines), headers={"content-type": "application/x-ndjson"}
        )
        assert response.status_code == 200, response.text


async def test_concurrent_heavy_reads_leave_writes_stored_and_health_ok(service: Service) -> None:
    """300 concurrent /traces?limit=500 with 100 concurrent POST /log and /health calls, on a
    Redis that takes only 30 connections: every write is answered 200 stored (never 202
    queued in the spool), every read 200 or a 503 naming the read capacity (never "store
    unavailable"), and /health says ok throughout."""
    limits = httpx.Limits(max_connections=READERS + WRITERS + 50)
    async with httpx.AsyncClient(base_url=service.url, timeout=120, limits=limits) as http:
        await seed(http)

        async def read() -> tuple[str, int, str]:
            response = await http.get("/traces", params={"limit": TRACES})
            detail = response.json().get("field", "") if response.status_code != 200 else ""
            if response.status_code == 200:
                assert len(response.json()["traces"]) == TRACES
            return "read", response.status_code, detail

        async def write(i: int) -> tuple[str, int, str]:
            await asyncio.sleep(i * 0.01)  # spread over the burst of reads
            response = await http.post("/log", json={"trace_id": f"w{i}", "message": "m"})
            return "write", response.status_code, str(response.json().get("queued", False))

        async def health(i: int) -> tuple[str, int, str]:
            await asyncio.sleep(i * 0.02)
            response = await http.get("/health")
            return "health", response.status_code, response.json()["status"]

        outcomes = Counter(
            await asyncio.gather(
                *(read() for _ in range(READERS)),
                *(write(i) for i in range(WRITERS)),
                *(health(i) for i in range(50)),
            )
        )
    print(sorted(outcomes.items()))
    assert outcomes["write", 200, "False"] == WRITERS
    assert outcomes["health", 200, "ok"] == 50
    reads = {key: n for key, n in outcomes.items() if key[0] == "read"}
    assert set(reads) <= {("read", 200, ""), ("read", 503, "read capacity")}
    assert reads.get(("read", 200, ""), 0) > 0
