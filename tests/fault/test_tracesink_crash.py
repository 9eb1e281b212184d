"""(b) tracesink SIGKILLed under load and restarted: what it acknowledged is stored, once."""

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


def test_tracesink_killed_and_restarted_loses_and_duplicates_nothing(cluster: Cluster) -> None:
    """tracesink is SIGKILLed 2.5 s into a steady load and restarted on the same port and spool
    about 1 s later: requests in flight or sent meanwhile get no answer (so were never
    acknowledged), and every entry answered 200 is in Redis exactly once, in its sender's order;
    the restarted process answers again."""
    cluster.start_tracesink()
    load = Load(cluster.url, "tracesink-crash")
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (2.5, "tracesink SIGKILLed", cluster.kill_tracesink),
                (3.5, "tracesink restarted", cluster.start_tracesink),
            ],
            then_s=2.0,
            max_requests=30_000,
        )
    )
    cluster.wait_drained()
    print(f"tracesink crash: {timeline}")
    summary = verify("tracesink crash", load.outcomes, cluster.stored())
    assert summary.no_answer > 0, "the load did not run into the crash"
    restarted = timeline.at("tracesink restarted").ended
    after = [o for o in load.outcomes if o.acknowledged and o.answered > restarted]
    assert after, "the restarted tracesink did not answer"


def test_tracesink_killed_with_a_full_spool_replays_it_on_restart(cluster: Cluster) -> None:
    """redis-server is killed 1.5 s into a steady load, so entries are spooled and answered 202;
    tracesink is SIGKILLed 2.5 s later with them still in the spool; Redis comes back, then
    tracesink on the same port and spool: at start it replays every spooled entry (at least
    all those answered 202 before the SIGKILL), and afterwards every acknowledged entry is in
    Redis exactly once, in its sender's order."""
    cluster.start_tracesink()
    load = Load(cluster.url, "spool-crash")
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (1.5, "redis-server killed", cluster.kill_redis),
                (4.0, "tracesink SIGKILLed", cluster.kill_tracesink),
                (5.0, "redis-server restarted", cluster.restart_redis),
                (5.5, "tracesink restarted", cluster.start_tracesink),
            ],
            then_s=2.5,
            max_requests=30_000,
        )
    )
    cluster.wait_drained()
    replayed = cluster.replayed_at_start(2)
    print(f"spool crash: {timeline}")
    verify("spool crash", load.outcomes, cluster.stored())
    killed = timeline.at("tracesink SIGKILLed").began
    queued = sum(o.status == 202 and o.answered < killed for o in load.outcomes)
    print(f"spool crash: answered 202 before the SIGKILL {queued}, replayed at restart {replayed}")
    assert queued > 0, "nothing was spooled before the crash"
    assert replayed >= queued, "the restart did not find every queued entry in the spool"
