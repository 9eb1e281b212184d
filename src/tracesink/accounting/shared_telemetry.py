"""The counters of every worker process of one instance, so that ``/metrics`` and ``/stats``
count the whole instance under ``tracesink serve --workers N``.

The metrics are a custom collector over in-process ``Telemetry`` (app/metrics.py), so
prometheus-client's multiprocess mode (one mmap file per metric it owns) does not apply; the
workers share snapshots instead. Each writes its own to ``<shared dir>/worker-<index>.json`` once
a second and when it stops, atomically (written aside, then renamed, so a reader never sees half
a file). The worker that answers ``/metrics`` or ``/stats`` publishes its own counters of the
moment, then adds the other workers' latest snapshots: another worker's figures may be a second
old, but no answer shows less than an earlier one did, whichever worker gave it (a worker's
figures in any answer are what it has published by then, and it only publishes more).

A worker restarted after a crash starts from the snapshot its predecessor left in its slot, so the
instance's counters never go down (Prometheus reads a drop as a counter reset): what the crashed
worker counted after its last snapshot is missing from the counts (never from the store).
Gauges (entries queued, spooled) are summed as they are now and not carried over; the last hour's
spending is summed over the workers, measured over the longest-running one's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import msgspec

from tracesink.accounting.telemetry import Histogram, Telemetry
from tracesink.store.base import Usage
from tracesink.store.spooling import SpoolStatus

log = logging.getLogger("tracesink")

PUBLISH_EVERY_S = 1.0
# The other workers' files are read again at most this often: /health answers from them too, and
# a flood of it must not become a flood of file reads (they change once a second anyway).
REREAD_AFTER_S = 0.25
SNAPSHOT_PREFIX = "worker-"


class HistogramState(msgspec.Struct, frozen=True):
    counts: list[int]
    total: float
    n: int


class Snapshot(msgspec.Struct, frozen=True):
    """One worker's counters (or several workers' summed), as written to its file."""

    accepted: dict[str, int] = {}
    queued: dict[str, int] = {}
    refused: list[tuple[str, str, int]] = []  # (system, reason, entries)
    batch_sizes: HistogramState = HistogramState([], 0.0, 0)
    flush_seconds: HistogramState = HistogramState([], 0.0, 0)
    store_errors: int = 0
    commands: int = 0
    bytes_sent: int = 0
    bytes_stored: int = 0
    # Not carried over a restart: the last hour's spending, and the gauges.
    last_hour: tuple[int, int, float] = (0, 0, 0.0)  # commands, bytes stored, hours measured
    queued_now: int = 0
    spool: tuple[int, int] | None = None  # entries, bytes; None: no spool


def _histogram_state(histogram: Histogram) -> HistogramState:
    return HistogramState(list(histogram.counts), histogram.total, histogram.n)


def _add_histograms(a: HistogramState, b: HistogramState) -> HistogramState:
    if not a.counts or not b.counts:
        counts = a.counts or b.counts
    else:
        counts = [x + y for x, y in zip(a.counts, b.counts, strict=True)]
    return HistogramState(list(counts), a.total + b.total, a.n + b.n)


def snapshot_of(
    telemetry: Telemetry, queued_now: int, spool: SpoolStatus | None, now_ms: int
) -> Snapshot:
    usage = telemetry.usage
    return Snapshot(
        accepted=dict(telemetry.accepted),
        queued=dict(telemetry.queued),
        refused=[(system, reason, n) for (system, reason), n in telemetry.refused.items()],
        batch_sizes=_histogram_state(telemetry.batch_sizes),
        flush_seconds=_histogram_state(telemetry.flush_seconds),
        store_errors=telemetry.store_errors,
        commands=usage.commands,
        bytes_sent=usage.bytes_sent,
        bytes_stored=usage.bytes_stored,
        last_hour=telemetry.last_hour(now_ms),
        queued_now=queued_now,
        spool=None if spool is None else (spool.entries, spool.bytes),
    )


def add(a: Snapshot, b: Snapshot) -> Snapshot:
    refused = Counter({(s, r): n for s, r, n in a.refused})
    refused.update({(s, r): n for s, r, n in b.refused})
    spools = [s for s in (a.spool, b.spool) if s is not None]
    return Snapshot(
        accepted=dict(Counter(a.accepted) + Counter(b.accepted)),
        queued=dict(Counter(a.queued) + Counter(b.queued)),
        refused=[(s, r, n) for (s, r), n in refused.items()],
        batch_sizes=_add_histograms(a.batch_sizes, b.batch_sizes),
        flush_seconds=_add_histograms(a.flush_seconds, b.flush_seconds),
        store_errors=a.store_errors + b.store_errors,
        commands=a.commands + b.commands,
        bytes_sent=a.bytes_sent + b.bytes_sent,
        bytes_stored=a.bytes_stored + b.bytes_stored,
        last_hour=(
            a.last_hour[0] + b.last_hour[0],
            a.last_hour[1] + b.last_hour[1],
            max(a.last_hour[2], b.last_hour[2]),
        ),
        queued_now=a.queued_now + b.queued_now,
        spool=(sum(e for e, _ in spools), sum(n for _, n in spools)) if spools else None,
    )


def carried(snapshot: Snapshot) -> Snapshot:
    """What a restarted worker takes over from its predecessor: the counters, not the gauges."""
    return msgspec.structs.replace(snapshot, last_hour=(0, 0, 0.0), queued_now=0, spool=None)


def _histogram(bounds: tuple[float, ...], state: HistogramState) -> Histogram:
    return Histogram(bounds, list(state.counts), state.total, state.n)


class CombinedTelemetry(Telemetry):
    """A ``Telemetry`` holding summed counters, for the collector and the ``/stats`` document."""

    def __init__(self, total: Snapshot, template: Telemetry) -> None:
        usage = Usage(total.commands, total.bytes_sent, total.bytes_stored)
        super().__init__(lambda: usage)
        self.accepted.update(total.accepted)
        self.queued.update(total.queued)
        self.refused.update({(s, r): n for s, r, n in total.refused})
        self.batch_sizes = _histogram(template.batch_sizes.bounds, total.batch_sizes)
        self.flush_seconds = _histogram(template.flush_seconds.bounds, total.flush_seconds)
        self.store_errors = total.store_errors
        self._last_hour = total.last_hour

    def last_hour(self, now_ms: int) -> tuple[int, int, float]:
        return self._last_hour


class SharedTelemetry:
    """This worker's side: publishes its snapshot, sums everyone's on demand."""

    def __init__(
        self,
        directory: Path,
        index: int,
        current: Callable[[], Snapshot],
    ) -> None:
        self._directory = directory
        self._path = directory / f"{SNAPSHOT_PREFIX}{index}.json"
        self._current = current
        # What a predecessor in this slot counted before it died (nothing on a first start).
        self._base = carried(_read(self._path) or Snapshot())
        self._task: asyncio.Task[None] | None = None
        self._others = Snapshot()
        self._others_read_at = -REREAD_AFTER_S

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def own(self) -> Snapshot:
        return add(self._base, self._current())

    def total(self) -> Snapshot:
        """Every worker's counters, for ``/metrics`` and ``/stats``: this one's now, the others'
        as last published. This one's are published first, so that whichever worker answers
        next never shows less: a Prometheus counter that went down would read as a reset."""
        own = self.publish()
        self._others, self._others_read_at = self._read_others(), time.monotonic()
        return add(own, self._others)

    def recent_total(self) -> Snapshot:
        """``total()`` for ``/health``, which wants only the gauges (queue and spool): the others'
        files read at most every ``REREAD_AFTER_S``, nothing written."""
        if time.monotonic() - self._others_read_at >= REREAD_AFTER_S:
            self._others, self._others_read_at = self._read_others(), time.monotonic()
        return add(self.own(), self._others)

    def _read_others(self) -> Snapshot:
        others = Snapshot()
        for path in sorted(self._directory.glob(f"{SNAPSHOT_PREFIX}*.json")):
            if path != self._path:
                others = add(others, _read(path) or Snapshot())
        return others

    def publish(self) -> Snapshot:
        """Write this worker's counters for the others (and for a successor); what was written."""
        own = self.own()
        aside = self._path.with_suffix(f".{os.getpid()}.tmp")
        try:
            aside.write_bytes(msgspec.json.encode(own))
            aside.replace(self._path)
        except OSError as exc:  # the folder is gone (the instance is stopping): nothing to share
            log.debug("could not publish this worker's telemetry: %s", exc)
        return own

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_EVERY_S)
            self.publish()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.publish()


def _read(path: Path) -> Snapshot | None:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Snapshot)
    except (OSError, msgspec.DecodeError):  # not written yet, or the instance is stopping
        return None
