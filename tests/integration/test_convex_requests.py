"""A failed Convex execution lands beside its logs, whichever instance receives it: two
`tracesink serve` processes on one real redis-server share the request id → trace map."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis

from tests.integration.test_convex_webhook import SECRET, console, deliver
from tests.support.redis_server import RedisServer, redis_server_binary
from tests.support.service import Service, entries_if_any, serving
from tracesink.store import keys

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]
WINDOW_S = 3600


def failure(request_id: str) -> dict[str, Any]:
    return {
        "topic": "function_execution",
        "timestamp": 1715879173000,
        "function": {"path": "payments:charge", "request_id": request_id, "type": "action"},
        "status": "failure",
        "error_message": "card declined",
        "execution_time_ms": 12,
    }


@pytest.fixture
def two_instances(redis_server: RedisServer) -> Iterator[tuple[Service, Service]]:
    redis.Redis.from_url(redis_server.url).flushall()
    env = {
        "TRACESINK_STORE": redis_server.url,
        "TRACESINK_CONVEX_WEBHOOK_SECRET": SECRET,
        "TRACESINK_WINDOW_S": str(WINDOW_S),
    }
    with serving(env) as first, serving(env) as second:
        yield first, second


def test_a_failure_through_b_joins_the_trace_its_lines_named_through_a(
    two_instances: tuple[Service, Service], redis_server: RedisServer
) -> None:
    """Console lines tagged [trace:checkout-7] reach instance A; the failed execution of the
    same request (no tag, only the request id) reaches instance B: it is stored in checkout-7,
    nothing is filed under the request id, and the link lives in one bounded, expiring req:
    hash on the shared Redis."""
    a, b = two_instances
    lines = [console("'[trace:checkout-7] charging card'", request_id="req-77")]
    assert deliver(a, json.dumps(lines).encode()).json()["accepted"] == 1
    answer = deliver(b, json.dumps([failure("req-77")]).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    messages = [e["message"] for e in entries_if_any(a, "checkout-7")]
    assert messages == ["'charging card'", "action payments:charge failed: card declined"]
    assert entries_if_any(b, "req-77") == []
    client = redis.Redis.from_url(redis_server.url)
    try:
        [key] = cast(list[bytes], client.keys(f"{keys.REQUESTS}*"))
        assert keys.parse(key.decode())[1] == keys.REQUESTS
        assert client.hgetall(key) == {b"req-77": b"checkout-7"}
        assert 0 < client.pttl(key) <= 2 * WINDOW_S * 1000
    finally:
        client.close()


def test_an_unknown_request_still_files_its_failure_under_the_request_id(
    two_instances: tuple[Service, Service],
) -> None:
    """A failure whose request never tagged a line has no trace to join: it keeps its request
    id as its trace (as before), rather than being lost."""
    a, _ = two_instances
    assert deliver(a, json.dumps([failure("req-unknown")]).encode()).json()["accepted"] == 1
    [entry] = entries_if_any(a, "req-unknown")
    assert entry["level"] == "error"
