"""(a) redis-server killed under load: what was acknowledged is stored, once, when it returns."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.fault.conftest import Cluster, Load, run_with_faults, verify
from tests.support.redis_server import redis_server_binary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]


def test_redis_killed_and_restarted_10s_later_loses_and_duplicates_nothing(
    cluster: Cluster,
) -> None:
    """redis-server is SIGKILLed 3 s into a steady load and restarted on its port and append-only
    file 10 s later, while the load goes on: during the outage entries are answered 202 queued
    and /health says degraded with spooled entries; afterwards the spool drains by itself, and
    every entry answered 200 or 202 is in Redis exactly once, in its sender's order. Once the
    spool has drained, writes go straight to Redis again: every entry of a second, short load is
    answered 200 (not 202 queued), and is stored too."""
    cluster.start_tracesink()
    load = Load(cluster.url, "redis-outage")
    during: list[dict[str, Any]] = []
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (3.0, "redis-server killed", cluster.kill_redis),
                (8.0, "/health read", lambda: during.append(cluster.health())),
                (13.0, "redis-server restarted", cluster.restart_redis),
            ],
            then_s=3.0,
            max_requests=40_000,
        )
    )
    drained = cluster.wait_drained()
    print(f"redis outage: {timeline}; spool drained {drained:.1f}s after the load")
    after = asyncio.run(load.run(2.0, 2_000))
    statuses = Counter(o.status for o in after)
    print(f"redis outage: after the drain sent {len(after)}, answered {dict(statuses)}")
    assert after, "no request was sent after the drain"
    assert statuses == {200: len(after)}, f"200s did not come back after Redis: {statuses}"
    summary = verify("redis outage", load.outcomes, cluster.stored())
    assert summary.ok > 0, "no entry was stored before the outage"
    assert summary.queued > 0, "no entry was queued during the outage"
    assert summary.no_answer == 0, "tracesink itself stayed up: every request gets an answer"
    [health] = during
    assert health["status"] == "degraded"
    assert health["spool"]["entries"] > 0
