"""A trace pinned through the Python service keeps its pin while the edge Worker writes to it:
the Worker runs the same write_batch.lua, whose PEXPIRE ... GT never shortens a pinned list."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.edge.conftest import fresh_prefix
from tests.support.edge_worker import running_worker
from tests.support.poll import wait_until
from tests.support.redis_server import RedisServer
from tests.support.service import serving
from tracesink.dev.rest_emulator import UpstashRestServer

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("node_ready")]


def test_edge_writes_to_a_pinned_trace_leave_its_pin(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """With a 2 s TTL: a trace pinned by the service, then written by the Worker after its
    expiry slack (so the script sets the list's expiry), outlives a trace the Worker wrote at the
    same moment, and reads back with both entries and its pin."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("pin"), "TRACESINK_TTL_S": "2"}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": redis_server.url}) as python,
    ):
        first = {"trace_id": "pinned", "message": "before the pin"}
        assert httpx.post(f"{worker.url}/log", json=first).status_code == 200
        pinned = httpx.post(f"{python.url}/logs/pinned/pin", params={"for": "1h"})
        assert pinned.status_code == 200, pinned.text
        time.sleep(0.5)  # past the slack (0.2 s): the next write sets the list's expiry
        sent = httpx.post(
            f"{worker.url}/logs",
            json=[
                {"trace_id": "pinned", "message": "after the pin"},
                {"trace_id": "control", "message": "not pinned"},
            ],
        )
        assert sent.status_code == 200, sent.text
        wait_until(
            lambda: httpx.get(f"{python.url}/logs/control").status_code == 404,
            "the unpinned trace's expiry",
        )
        trace = httpx.get(f"{python.url}/logs/pinned").json()
        assert [e["message"] for e in trace["entries"]] == ["before the pin", "after the pin"]
        assert trace["pinned_until"] == pinned.json()["pinned_until"]
