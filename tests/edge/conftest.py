"""Fixtures for the edge Worker's tests: a real redis-server, the project's Upstash REST emulator
over it (the Worker's store, where Upstash is in production; never Upstash itself here), and the
Worker itself in workerd.

Each test names its own ``TRACESINK_KEY_PREFIX`` (``fresh_prefix``), so tests sharing the session's
redis-server never see each other's counters or traces.
"""

from __future__ import annotations

import uuid

import pytest

# The contract suite's session servers: a redis-server on a free port, the REST emulator over it.
from tests.contract.conftest import redis_server, upstash_server  # noqa: F401
from tests.support.edge_worker import missing


@pytest.fixture(scope="session")
def node_ready() -> None:
    """The Worker can run here (node and edge/node_modules), else the test skips saying why."""
    why = missing()
    if why is not None:
        pytest.skip(why)


def fresh_prefix(name: str) -> str:
    """A key prefix no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}:"
