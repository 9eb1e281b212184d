"""Shared by the tests that talk to one real ``tracesink serve`` per module: a module defines
``served`` (its service, with the settings it needs); this gives a client on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.redis_server import redis_server_binary, running_redis_server
from tests.support.service import Service, serving


@pytest.fixture
def http(served: Service) -> Iterator[httpx.Client]:
    """An HTTP client on the module's ``served`` service."""
    with httpx.Client(base_url=served.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module", params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """A ``tracesink serve`` with default settings, once on each store (a module with other
    needs defines its own)."""
    if request.param == "memory":
        with serving() as running:
            yield running
        return
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    with running_redis_server() as redis, serving({"TRACESINK_STORE": redis.url}) as running:
        yield running
