"""A shard of a Redis Cluster killed under load: what was acknowledged is stored, once, when it
returns (the fault suite's verdict, ``verify``, on ``redis+cluster://``)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.conftest import (
    REDIS_DURABLE,
    UNLIMITED,
    Cluster,
    Load,
    Stored,
    StoredEntry,
    read_stored,
    run_with_faults,
    verify,
)
from tests.support.redis_cluster import RedisCluster, start_redis_cluster
from tests.support.redis_server import free_port, redis_server_binary
from tests.support.service import Service, end
from tracesink.store.keys import SHARED

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(
        redis_server_binary() is None or shutil.which("redis-cli") is None,
        reason="redis-server or redis-cli is not installed",
    ),
]


class ShardedCluster(Cluster):
    """The fault suite's processes with a three-primary Redis Cluster for the store: durable
    nodes (append-only file, fsync always), so a killed shard comes back with what it had."""

    def __init__(self, directory: Path) -> None:  # Cluster's, with the cluster for a store
        self.directory = directory
        self.shards: RedisCluster = start_redis_cluster(REDIS_DURABLE)
        self.redis = self.shards.nodes[0]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "TRACESINK_STORE": self.shards.url,
            "TRACESINK_SPOOL_DIR": str(directory / "spool"),
            "TRACESINK_GLOBAL_LIMIT": UNLIMITED,
            "TRACESINK_TRACE_LIMIT": UNLIMITED,
            "TRACESINK_MAX_TRACE_ENTRIES": UNLIMITED,
        }
        self.service: Service | None = None
        self.starts = 0

    def shard_without_counters(self) -> int:
        """The index of a shard that does not hold the counters: traces only."""
        counters = self.shards.node_of(f"{{{SHARED}}}")
        return next(i for i, n in enumerate(self.shards.nodes) if n is not counters)

    def kill_shard(self, index: int) -> None:
        self.shards.kill(self.shards.nodes[index])

    def restart_shard(self, index: int) -> None:
        self.shards.restart(self.shards.nodes[index])

    def stored(self) -> Stored:
        lists: dict[str, list[StoredEntry]] = {}
        markers = 0
        for node in self.shards.nodes:
            found = read_stored(node.url)
            lists.update(found.lists)
            markers += found.markers
        return Stored(lists, markers)

    def close(self) -> None:
        if self.service is not None:
            end(self.service.process)
        self.shards.stop()


@pytest.fixture
def sharded(tmp_path: Path) -> Iterator[ShardedCluster]:
    running = ShardedCluster(tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_a_shard_killed_and_restarted_loses_and_duplicates_nothing(
    sharded: ShardedCluster,
) -> None:
    """A shard holding traces (not the counters) is SIGKILLed 3 s into a steady load over 50
    traces and restarted on its port and append-only file 5 s later: entries are answered 200
    or 202 queued throughout (the decision may have spent quota for a batch whose append
    failed: it is spooled and replayed), and once the spool has drained every acknowledged
    entry is in its trace exactly once, in its sender's order."""
    sharded.start_tracesink()
    shard = sharded.shard_without_counters()
    load = Load(sharded.url, "shard-outage")
    timeline = asyncio.run(
        run_with_faults(
            load,
            [
                (3.0, "shard killed", lambda: sharded.kill_shard(shard)),
                (8.0, "shard restarted", lambda: sharded.restart_shard(shard)),
            ],
            then_s=2.0,
            max_requests=30_000,
        )
    )
    drained = sharded.wait_drained()
    print(f"shard outage: {timeline}; spool drained {drained:.1f}s after the load")
    summary = verify("shard outage", load.outcomes, sharded.stored())
    assert summary.ok > 0, "no entry was stored before the outage"
    assert summary.queued > 0, "no entry was queued during the outage"
    assert summary.no_answer == 0, "tracesink itself stayed up: every request gets an answer"
