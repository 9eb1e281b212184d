"""Fixtures for the edge Worker's tests: a real redis-server, the Upstash-REST-compatible server
over it (the Worker's store, as Upstash is in production), and the Worker itself in workerd.

Each test names its own ``TRACESINK_KEY_PREFIX`` (``fresh_prefix``), so tests sharing the session's
redis-server never see each other's counters or traces.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.edge_worker import missing
from tests.support.redis_server import RedisServer, redis_server_binary, start_redis_server
from tests.support.upstash_rest import UpstashRestServer, start_upstash_rest_server


@pytest.fixture(scope="session")
def edge_redis() -> Iterator[RedisServer]:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (e.g. apt install redis-server)")
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def edge_rest(edge_redis: RedisServer) -> Iterator[UpstashRestServer]:
    server = start_upstash_rest_server(edge_redis.url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def node_ready() -> None:
    """The Worker can run here (node and edge/node_modules), else the test skips saying why."""
    why = missing()
    if why is not None:
        pytest.skip(why)


def fresh_prefix(name: str) -> str:
    """A key prefix no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}:"
