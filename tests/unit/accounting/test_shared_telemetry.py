"""Every worker's counters, summed: what /metrics and /stats report under `--workers N`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import msgspec

from tests.conftest import FakeClock
from tracesink.accounting.shared_telemetry import (
    HistogramState,
    SharedTelemetry,
    Snapshot,
    add,
    carried,
)
from tracesink.config import Settings
from tracesink.model import PreparedEntry
from tracesink.pipeline import IngestPipeline
from tracesink.worker_identity import WorkerIdentity


def entry(i: int, system: str = "browser") -> PreparedEntry:
    return PreparedEntry(f"id{i:04d}", f"t{i}", system, b'{"m":1}')


def published(folder: Path, index: int, snapshot: Snapshot) -> None:
    (folder / f"worker-{index}.json").write_bytes(msgspec.json.encode(snapshot))


OTHER = Snapshot(
    accepted={"browser": 5, "worker": 2},
    queued={"browser": 1},
    refused=[("browser", "trace", 3)],
    batch_sizes=HistogramState([1, 2, 2, 2, 2, 2, 2, 2, 2, 2], 3.0, 2),
    store_errors=1,
    commands=40,
    bytes_sent=900,
    bytes_stored=300,
    last_hour=(30, 200, 0.5),
    queued_now=4,
    spool=(1, 64),
)


def test_snapshots_add_up_counters_gauges_and_histograms() -> None:
    """Counters and gauges are summed, histogram buckets bucket by bucket, the last hour's
    spending summed over the longest time measured; an empty snapshot adds nothing."""
    total = add(OTHER, OTHER)
    assert total.accepted == {"browser": 10, "worker": 4}
    assert total.refused == [("browser", "trace", 6)]
    assert total.batch_sizes == HistogramState([2, 4, 4, 4, 4, 4, 4, 4, 4, 4], 6.0, 4)
    assert (total.commands, total.queued_now, total.spool) == (80, 8, (2, 128))
    assert total.last_hour == (60, 400, 0.5)
    assert add(Snapshot(), OTHER) == OTHER
    assert add(Snapshot(), Snapshot()).spool is None


def test_a_successor_carries_the_counters_not_the_gauges() -> None:
    """What a restarted worker takes over: the counts; the queue and spool are its own."""
    kept = carried(OTHER)
    assert (kept.accepted, kept.commands, kept.store_errors) == (OTHER.accepted, 40, 1)
    assert (kept.queued_now, kept.spool, kept.last_hour) == (0, None, (0, 0, 0.0))


async def test_stats_and_metrics_count_every_worker(tmp_path: Path, clock: FakeClock) -> None:
    """Worker 0 stores 3 entries while worker 1 has published its counters: worker 0's /stats
    view holds both, and /health's queue and spool are summed too; worker 0's own file holds
    its own counts once published."""
    published(tmp_path, 1, OTHER)
    settings = replace(Settings(), spool_dir="off")
    pipeline = await IngestPipeline.open(settings, clock=clock, worker=WorkerIdentity(0, tmp_path))
    try:
        await pipeline.submit([entry(1), entry(2), entry(3, "convex")])
        stats = pipeline.stats()
        assert stats["entries"]["accepted"] == {"browser": 7, "convex": 1, "worker": 2}
        assert stats["entries"]["refused"] == {"browser": {"trace": 3}}
        assert stats["spool"] == {"entries": 1, "bytes": 64}
        telemetry, status = pipeline.instance_telemetry()
        assert telemetry.batch_sizes.n == OTHER.batch_sizes.n + 1
        assert telemetry.store_errors == 1
        assert status.queued == 4
        assert pipeline.instance_status().spool is not None
    finally:
        await pipeline.close()
    mine = msgspec.json.decode((tmp_path / "worker-0.json").read_bytes(), type=Snapshot)
    assert mine.accepted == {"browser": 2, "convex": 1}


async def test_a_restarted_worker_starts_from_its_predecessors_counts(tmp_path: Path) -> None:
    """Worker 1 died having published OTHER: its successor's own counts start there, so the
    instance's counters do not go down; a file that cannot be read counts as nothing."""
    published(tmp_path, 1, OTHER)
    successor = SharedTelemetry(tmp_path, 1, Snapshot)
    assert successor.own().accepted == OTHER.accepted
    assert successor.own().queued_now == 0
    (tmp_path / "worker-2.json").write_text("{half a fi")
    assert successor.total().accepted == OTHER.accepted
    successor.publish()
    assert (
        msgspec.json.decode((tmp_path / "worker-1.json").read_bytes(), type=Snapshot).commands == 40
    )


def test_whichever_worker_answers_never_shows_less(tmp_path: Path) -> None:
    """Two workers counting, asked in turn (as scrapes land on either): every answer is at
    least the one before (a counter that went down would read as a reset in Prometheus), and
    the last one counts everything."""
    counts = {0: 0, 1: 0}

    def counted(index: int) -> Callable[[], Snapshot]:
        return lambda: Snapshot(accepted={"x": counts[index]})

    workers = [SharedTelemetry(tmp_path, index, counted(index)) for index in (0, 1)]
    seen = []
    for step in range(6):
        counts[0] += 3
        counts[1] += 1
        for index in (1, 0, 1) if step % 2 == 0 else (0, 1, 0):
            seen.append(workers[index].total().accepted.get("x", 0))
    assert seen == sorted(seen), seen
    assert seen[-1] == counts[0] + counts[1]


async def test_health_reads_the_others_at_most_every_quarter_second(tmp_path: Path) -> None:
    """``recent_total`` (for /health) keeps what it read for a moment and writes nothing."""
    published(tmp_path, 1, OTHER)
    worker = SharedTelemetry(tmp_path, 0, Snapshot)
    assert worker.recent_total().queued_now == OTHER.queued_now
    published(tmp_path, 1, Snapshot())
    assert worker.recent_total().queued_now == OTHER.queued_now  # read a moment ago
    assert not (tmp_path / "worker-0.json").exists()
