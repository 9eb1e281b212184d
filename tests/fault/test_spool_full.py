"""(d) A full spool: 503 with Retry-After, no memory growth, and what was queued is kept."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.fault.conftest import Cluster, Load, verify
from tests.support.redis_server import redis_server_binary
from tests.support.service import rss_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)"),
]

SPOOL_MAX_BYTES = 65_536
WARM_UP = 500  # requests sent once the spool is full, before the memory is measured
AFTER_FULL = 2000  # requests sent after those, over which the memory is measured
PADDING = 8000  # bytes added to each of those messages: 16 MB over the 2000, 32 MB as bodies
# and entries; keeping them (or queueing them) in memory would exceed this bound
RSS_GROWTH_BOUND = 8 * 1024 * 1024
MB = 1024 * 1024


def test_a_full_spool_answers_503_without_growing_and_keeps_what_it_queued(
    cluster: Cluster,
) -> None:
    """With redis-server down and a 64 KiB spool, entries are answered 202 queued until the spool
    is full, then 503 with Retry-After; 2500 more requests with 8 KB messages all get 503 with
    Retry-After or 202, nothing else, and over the last 2000 of them (16 MB of messages)
    tracesink's resident memory grows by less than 8 MB, so refused entries are not kept
    anywhere, not even in reference cycles waiting for the (rarely run) cyclic collector. (The
    first 500 are a warm-up, for the allocator and caches to settle.) When Redis returns the
    spool drains, and every entry answered 202 is in Redis exactly once."""
    cluster.start_tracesink({"TRACESINK_SPOOL_MAX_BYTES": str(SPOOL_MAX_BYTES)})
    cluster.kill_redis()
    load = Load(cluster.url, "spool-full", senders=16)
    filling = asyncio.run(load.run(30.0, 20_000, until=lambda o: o.status == 503))
    health = cluster.health()
    warm_up = asyncio.run(load.run(60.0, WARM_UP, padding=PADDING))
    pid = cluster.running().process.pid
    rss_before = rss_bytes(pid)
    after = asyncio.run(load.run(60.0, AFTER_FULL, padding=PADDING))
    rss_after = rss_bytes(pid)
    statuses = Counter(o.status for o in [*warm_up, *after])
    growth = rss_after - rss_before
    print(
        f"spool full: filling sent {len(filling)} (202: {sum(o.status == 202 for o in filling)}, "
        f"503: {sum(o.status == 503 for o in filling)}); then sent {len(warm_up) + len(after)} "
        f"(503: {statuses[503]}, 202: {statuses[202]}, other: "
        f"{len(warm_up) + len(after) - statuses[503] - statuses[202]}); tracesink RSS "
        f"{rss_before / MB:.1f} MB -> {rss_after / MB:.1f} MB over the last {len(after)} "
        f"({growth / MB:+.1f} MB)"
    )
    assert any(o.status == 503 for o in filling), "the spool never filled"
    assert health["status"] == "degraded"
    assert 0 < health["spool"]["bytes"] <= SPOOL_MAX_BYTES
    assert len(warm_up) + len(after) == WARM_UP + AFTER_FULL
    assert statuses[503] + statuses[202] == WARM_UP + AFTER_FULL
    assert all(o.retry_after for o in load.outcomes if o.status == 503), "503 without Retry-After"
    assert growth < RSS_GROWTH_BOUND
    cluster.restart_redis()
    cluster.wait_drained()
    summary = verify("spool full", load.outcomes, cluster.stored(), refusals_allowed=True)
    assert summary.queued > 0
