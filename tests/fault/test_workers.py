"""(d) `serve --workers 2` under faults: a worker killed, SIGTERM, a restart with fewer workers.

Whatever happens to one worker or to the instance, what it acknowledged is stored exactly once;
the fault suite's verdict (``verify``) is the same as for one process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import pytest

from tests.fault.conftest import Cluster, Load, run_with_faults, verify
from tests.support.processes import children, running
from tests.support.redis_server import redis_server_binary

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

TWO_WORKERS = {"TRACESINK_WORKERS": "2"}
EXIT_TIMEOUT_S = 20.0
RESTART_TIMEOUT_S = 20.0
HANDED_ON = re.compile(r"(\d+) spooled entries of workers not started now")


def workers_of(
    cluster: Cluster, count: int = 2, timeout: float = RESTART_TIMEOUT_S, *, without: int = 0
) -> list[int]:
    """The pids of the instance's ``count`` workers, once it has that many (none of them
    ``without``)."""
    deadline = time.monotonic() + timeout
    pids: list[int] = []
    while time.monotonic() < deadline:
        pids = [pid for pid in children(cluster.running().process.pid) if running(pid)]
        if len(pids) == count and without not in pids:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"the instance does not have {count} workers: {pids}")


def test_a_killed_worker_is_restarted_and_nothing_acknowledged_is_lost(cluster: Cluster) -> None:
    """One of two workers is SIGKILLed 2 s into a steady load: the supervisor says so on stderr
    and starts another in its place, the instance keeps answering throughout (the other worker
    takes the connections), and every entry answered 200 is in Redis exactly once, in order."""
    cluster.start_tracesink(TWO_WORKERS)
    first, _ = workers_of(cluster)
    replaced: list[int] = []

    def kill_worker() -> None:
        os.kill(first, signal.SIGKILL)
        replaced.extend(workers_of(cluster, without=first))

    load = Load(cluster.url, "worker-crash")
    timeline = asyncio.run(
        run_with_faults(
            load, [(2.0, "worker SIGKILLed", kill_worker)], then_s=2.0, max_requests=30_000
        )
    )
    print(f"worker crash: {timeline}")
    verify("worker crash", load.outcomes, cluster.stored())
    assert first not in replaced, "the killed worker was not replaced"
    assert f"(pid {first}) was killed by SIGKILL; starting it again" in cluster.output(1)
    killed = timeline.at("worker SIGKILLed")
    during = [o for o in load.outcomes if killed.began < o.answered < killed.ended + 1.0]
    assert any(o.acknowledged for o in during), "the other worker did not keep answering"
    assert cluster.running().process.poll() is None


def test_sigterm_drains_every_worker_and_exits_0(cluster: Cluster) -> None:
    """SIGTERM to the parent of two workers 2.5 s into a steady load: it exits 0 within 20 s,
    both workers are gone, no traceback, and every entry answered 200 (some of them answered
    after the signal: requests in flight) is in Redis exactly once, in its sender's order."""
    cluster.start_tracesink(TWO_WORKERS)
    workers = workers_of(cluster)
    exits: list[int] = []
    signalled: list[float] = []

    def terminate() -> None:
        signalled.append(time.monotonic())
        exits.append(cluster.terminate_tracesink(EXIT_TIMEOUT_S))

    load = Load(cluster.url, "workers-sigterm", senders=24)
    timeline = asyncio.run(
        run_with_faults(load, [(2.5, "SIGTERM", terminate)], then_s=0.5, max_requests=30_000)
    )
    print(f"workers sigterm: {timeline}; exit status {exits}")
    summary = verify("workers sigterm", load.outcomes, cluster.stored())
    assert exits == [0]
    assert not any(running(pid) for pid in workers), "a worker outlived its parent"
    assert "Traceback" not in cluster.output(1)
    assert summary.ok > 0
    drained = [o for o in load.outcomes if o.acknowledged and o.answered > signalled[0]]
    print(f"workers sigterm: answered 200 after the signal {len(drained)}")


def test_spools_of_workers_gone_are_replayed_by_an_instance_with_fewer(cluster: Cluster) -> None:
    """Two workers spool during a Redis outage (answers 202), then stop on SIGTERM with their
    spools full; Redis returns and the instance starts again with ONE worker: it hands worker 1's
    spool on to worker 0 (a line on stderr says how many entries), which replays both, and every
    acknowledged entry is in Redis exactly once. (Not in its sender's order: a sender's requests
    went to either worker, and each worker's spool is replayed as a whole.)"""
    cluster.start_tracesink(TWO_WORKERS)
    load = Load(cluster.url, "fewer-workers", senders=24)
    exits: list[int] = []
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (1.5, "redis-server killed", cluster.kill_redis),
                (4.0, "SIGTERM", lambda: exits.append(cluster.terminate_tracesink(EXIT_TIMEOUT_S))),
            ],
            then_s=0.5,
            max_requests=30_000,
        )
    )
    assert exits == [0]
    spooled = sorted(p.parent.name for p in (cluster.directory / "spool").rglob("spool.sqlite3"))
    print(f"fewer workers: {timeline}; spools left {spooled}")
    assert "worker-1" in spooled, "worker 1 spooled nothing: the test proves no hand-on"
    cluster.restart_redis()
    cluster.start_tracesink({"TRACESINK_WORKERS": "1"})
    cluster.wait_drained()
    handed_on = HANDED_ON.search(cluster.output(2))
    summary = verify("fewer workers", load.outcomes, cluster.stored(), in_sender_order=False)
    print(f"fewer workers: handed on {handed_on and handed_on.group(1)}, queued {summary.queued}")
    assert handed_on is not None
    assert int(handed_on.group(1)) > 0
    assert summary.queued > 0
    assert not (cluster.directory / "spool" / "worker-1").exists()
