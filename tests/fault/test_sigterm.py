"""(c) SIGTERM under load: tracesink drains and exits 0, and loses nothing it acknowledged."""

from __future__ import annotations

import asyncio

import pytest

from tests.fault.conftest import Cluster, Load, run_with_faults, verify
from tests.support.redis_server import redis_server_binary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

EXIT_TIMEOUT_S = 15.0


def test_sigterm_under_load_exits_0_and_stores_everything_acknowledged(cluster: Cluster) -> None:
    """SIGTERM 3 s into a steady load: tracesink exits with status 0 within 15 s, without a
    traceback, and at once (no restart, no spool left to replay) every entry answered 200 is in
    Redis exactly once, in its sender's order."""
    cluster.start_tracesink()
    load = Load(cluster.url, "sigterm")
    exits: list[int] = []
    timeline = asyncio.run(
        run_with_faults(
            load,
            [(3.0, "SIGTERM", lambda: exits.append(cluster.terminate_tracesink(EXIT_TIMEOUT_S)))],
            then_s=0.5,
            max_requests=20_000,
        )
    )
    print(f"sigterm: {timeline}; exit status {exits}")
    summary = verify("sigterm", load.outcomes, cluster.stored())
    assert exits == [0]
    assert "Traceback" not in cluster.output(1)
    assert summary.ok > 0
    assert summary.queued == 0, "Redis was up: nothing should have been spooled"


def test_sigterm_during_a_redis_outage_keeps_the_spool_for_the_next_start(
    cluster: Cluster,
) -> None:
    """redis-server is killed 1.5 s into a steady load (entries answered 202 queued) and
    tracesink gets SIGTERM 2.5 s later: it exits with status 0 within 15 s, and its spool keeps
    what it acknowledged: once Redis is back, the next start replays it (at least every entry
    answered 202), and every acknowledged entry is in Redis exactly once, in its sender's order."""
    cluster.start_tracesink()
    load = Load(cluster.url, "sigterm-outage")
    exits: list[int] = []
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (1.5, "redis-server killed", cluster.kill_redis),
                (4.0, "SIGTERM", lambda: exits.append(cluster.terminate_tracesink(EXIT_TIMEOUT_S))),
            ],
            then_s=0.5,
            max_requests=20_000,
        )
    )
    assert exits == [0]
    assert "Traceback" not in cluster.output(1)
    cluster.restart_redis()
    cluster.start_tracesink()
    cluster.wait_drained()
    replayed = cluster.replayed_at_start(2)
    print(f"sigterm in outage: {timeline}; exit status {exits}; replayed {replayed}")
    summary = verify("sigterm in outage", load.outcomes, cluster.stored())
    assert summary.queued > 0, "nothing was spooled before SIGTERM"
    assert replayed >= summary.queued
