"""The ingest pipeline: the one way in for every route.

A route parses HTTP into prepared entries and hands them to ``IngestPipeline.submit``; the
pipeline refuses them all when the daily command budget is spent, else has the group-commit
writer store them (behind the spool during a store outage), counts every outcome by system and
reason, and returns the decisions with the time they were made at. Nothing about limits,
budgets, accounting or outages lives in a route, so a new route (OTLP, a webhook) is parsing and
answering only.

    route ─▶ IngestPipeline.submit ─▶ budget ─▶ Writer (group commit) ─▶ [SpoolingStore] ─▶ Store
                                                                   └─▶ LiveFeed (admitted entries)
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from tracesink.accounting.budget import CommandBudget
from tracesink.accounting.budgeted_store import BudgetedStore
from tracesink.accounting.publisher import CommandPublisher, publish_threshold
from tracesink.accounting.report import stats_document
from tracesink.accounting.shared_telemetry import (
    CombinedTelemetry,
    SharedTelemetry,
    Snapshot,
    snapshot_of,
)
from tracesink.accounting.telemetry import Telemetry
from tracesink.config import Settings
from tracesink.errors import ConfigurationError, Overloaded, StorageError
from tracesink.ingest.validate import EntryRules
from tracesink.limits import Decision, Policy
from tracesink.live import LiveEntry, LiveFeed
from tracesink.live_poll import StoreWatcher
from tracesink.model import MANUAL, PreparedEntry
from tracesink.store import open_store
from tracesink.store.base import Store
from tracesink.store.replica_wait import ReplicaWait
from tracesink.store.spool import Spool
from tracesink.store.spooling import SpoolingStore, SpoolStatus
from tracesink.store_probe import StoreProbe, probe_interval_s
from tracesink.worker_identity import WorkerIdentity
from tracesink.writer import Writer


class Submitted(msgspec.Struct, frozen=True):
    """What became of a submission: a decision per entry, in order, and when they were made.

    A frozen Struct, not a frozen dataclass: one is built per request, and a frozen dataclass
    sets each field through object.__setattr__ (issue 27)."""

    decisions: list[Decision]
    decided_ms: int


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    store: str  # the store's URL, secrets masked
    queued: int  # entries waiting for the store
    spool: SpoolStatus | None  # None: no spool (memory store, or TRACESINK_SPOOL_DIR=off)


def replica_wait_from(settings: Settings) -> ReplicaWait | None:
    """The replica wait the Redis store applies to each write batch; None when off."""
    if settings.redis_wait_replicas == 0:
        return None
    return ReplicaWait(
        settings.redis_wait_replicas,
        settings.redis_wait_timeout_ms,
        setting=settings.name_of("redis_wait_replicas"),
    )


def policy_from(settings: Settings) -> Policy:
    system_limits = {
        name: limit
        for name in settings.system_shares
        if (limit := settings.system_limit(name)) is not None
    }
    return Policy(
        global_limit=settings.global_limit,
        trace_limit=settings.trace_limit,
        system_limits=system_limits,
        window_ms=settings.window_s * 1000,
        ttl_ms=settings.ttl_s * 1000,
        key_prefix=settings.key_prefix,
        shared_budget=settings.max_commands_per_day > 0,
        max_trace_entries=settings.max_trace_entries,
    )


def rules_from(settings: Settings) -> EntryRules:
    return EntryRules(
        max_message_bytes=settings.max_message_bytes,
        max_context_bytes=settings.max_context_bytes,
        max_context_depth=settings.max_context_depth,
        systems=frozenset(settings.systems),
    )


class IngestPipeline:
    """Built by ``open`` from the settings (and, in tests, a given store); closed by ``close``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        spooling: SpoolingStore | None,
        clock: Callable[[], float],
        worker: WorkerIdentity | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy_from(settings)
        self.rules = rules_from(settings)
        self.clock = clock
        self._spooling = spooling
        self.backend = store  # the store itself, for features with keys of their own (maps)
        self.telemetry = Telemetry(lambda: self._store.usage)
        self.budget = CommandBudget(
            settings.max_commands_per_day or None,
            lambda: self._store.usage.commands,
            lambda day: self._store.usage.commands_today(day),
            read_reserve_pct=settings.read_reserve,
        )
        # Every command passes the budget: ingest is refused in ``submit`` at its share, the
        # rest (reads, the live poll, the health probe) by the store once all of it is spent.
        self._store = BudgetedStore(
            spooling or store, self.budget, self.now_ms, settings.name_of("max_commands_per_day")
        )
        # /health answers from one probe per interval, whoever asks and however often.
        self.probe = StoreProbe(
            self._store.ping,
            probe_interval_s(settings.max_commands_per_day),
            lambda: not self.budget.spent(self.now_ms()),
        )
        # With a shared budget, commands that no write carries are published on their own.
        self.publisher: CommandPublisher | None = None
        if self.policy.shared_budget and not settings.store.startswith("memory:"):
            self.publisher = CommandPublisher(
                lambda: self._store.usage,
                lambda: self._store.publish_commands(self.now_ms()),
                publish_threshold(settings.max_commands_per_day),
            )
        self._writer = Writer(
            self._store,
            max_batch=settings.max_batch,
            max_queue=settings.max_queue,
            clock=clock,
            on_flush=self._on_flush,
            # How many store steps may be in flight at once: a store with a long round trip
            # (Upstash over HTTP) says more.
            max_in_flight=store.max_in_flight,
        )
        # Live streams: this instance's entries are published once stored (no store command);
        # another instance's reach the feed by polling a shared store while someone watches.
        self.live = LiveFeed()
        self.watcher: StoreWatcher | None = None
        if store.shared and settings.live_poll_s > 0:  # ask the store, not its URL
            self.watcher = StoreWatcher(
                self._store, self.live, settings.live_poll_s, self.now_ms, self.budget.spent
            )
        # One of several worker processes: /metrics and /stats count them all.
        self.shared: SharedTelemetry | None = None
        if worker is not None:
            self.shared = SharedTelemetry(worker.shared_dir, worker.index, self._own_snapshot)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        worker: WorkerIdentity | None = None,
    ) -> IngestPipeline:
        """Open the store (behind the spool when there is one); a spool left by a crash starts
        replaying at once. ``worker``: which process of ``serve --workers N`` this is."""
        store = store or open_store(
            settings.store,
            policy_from(settings),
            settings.name_of("store"),
            replica_wait_from(settings),
        )
        spooling = None
        spool_path = settings.spool_path(worker.index if worker is not None else 0)
        if spool_path is not None:
            spool = Spool(spool_path, settings.spool_max_bytes, owner=store.display)
            # TRACESINK_OUTAGE_SHARE is the instance's: its workers split it.
            share = max(1, settings.outage_share // settings.workers)
            spooling = SpoolingStore(store, spool, policy_from(settings), share)
            try:
                await spooling.open(int(clock() * 1000))
            except (OSError, sqlite3.Error) as exc:
                raise ConfigurationError(
                    f"{settings.name_of('spool_dir')}: cannot open the spool at {spool_path}: {exc}"
                ) from None
        pipeline = cls(settings, store, spooling, clock, worker)
        if pipeline.publisher is not None:
            pipeline.publisher.start()
        if pipeline.shared is not None:
            pipeline.shared.start()
        return pipeline

    @property
    def store(self) -> Store:
        """The store, for reads (they go the short way, not through the writer)."""
        return self._store

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def refuse_invalid(self, system: str, count: int = 1) -> None:
        """Count entries a route refused as invalid before they reached the pipeline."""
        counted = system if system in self.rules.systems else MANUAL
        self.telemetry.record_refused(counted, "invalid", count)

    async def submit(self, entries: Sequence[PreparedEntry]) -> Submitted:
        """Decide and store ``entries``, or refuse them all when the daily budget is spent.

        Raises ``Overloaded`` (the write queue is full) or ``StorageError`` (the store failed and
        nothing could be spooled); either way nothing was stored, and the refusal is counted.
        """
        now_ms = self.now_ms()
        if self.budget.exhausted(now_ms):
            wait_ms = self.budget.seconds_to_reset(now_ms) * 1000
            submitted = Submitted([Decision("budget", {}, wait_ms) for _ in entries], now_ms)
        else:
            try:
                decisions, decided_ms = await self._writer.submit(entries)
            except Overloaded:
                self._count_refused(entries, "overloaded")
                raise
            except StorageError:
                self._count_refused(entries, "store_unavailable")
                raise
            submitted = Submitted(decisions, decided_ms)
            if self.live.watched:
                self.live.publish(
                    LiveEntry(e.id, e.trace_id, e.payload)
                    for e, d in zip(entries, decisions, strict=True)
                    if d.admitted
                )
        self.telemetry.record_decisions(entries, submitted.decisions)
        return submitted

    def _count_refused(self, entries: Sequence[PreparedEntry], reason: str) -> None:
        for entry in entries:
            self.telemetry.record_refused(entry.system, reason)

    def _on_flush(self, size: int, seconds: float, failed: bool) -> None:
        self.telemetry.record_flush(size, seconds, failed)
        self.telemetry.sample(self.now_ms())

    def status(self) -> PipelineStatus:
        spool = self._spooling.spool_status() if self._spooling is not None else None
        return PipelineStatus(self._store.display, self._writer.queued, spool)

    async def probe_store(self) -> str | None:
        """None when the store answered its latest probe, else the failure's name; at most one
        probe per ``probe.interval_s``, shared by every caller."""
        return await self.probe.check()

    def _own_snapshot(self) -> Snapshot:
        status = self.status()
        return snapshot_of(self.telemetry, status.queued, status.spool, self.now_ms())

    def instance_telemetry(self) -> tuple[Telemetry, PipelineStatus]:
        """What the whole instance counted, and its queue and spool: this process's own, or
        every worker's summed under ``serve --workers N`` (shared_telemetry.py)."""
        if self.shared is None:
            return self.telemetry, self.status()
        total = self.shared.total()
        return CombinedTelemetry(total, self.telemetry), self._status_of(total)

    def instance_status(self) -> PipelineStatus:
        """``status()`` of the whole instance: every worker's queue and spool summed."""
        if self.shared is None:
            return self.status()
        return self._status_of(self.shared.recent_total())

    def _status_of(self, total: Snapshot) -> PipelineStatus:
        spool = None if total.spool is None else SpoolStatus(*total.spool)
        return PipelineStatus(self._store.display, total.queued_now, spool)

    def stats(self) -> dict[str, Any]:
        """``/stats``: what was accepted, refused, spent, and what it costs a month."""
        telemetry, status = self.instance_telemetry()
        return stats_document(
            self.settings, telemetry, self.budget, status.store, status.spool, self.now_ms()
        )

    async def close(self) -> None:
        """Drain: store everything submitted so far, then close the store (and the spool)."""
        self.live.close()
        if self.watcher is not None:
            await self.watcher.close()
        await self._writer.drain()
        if self.publisher is not None:
            await self.publisher.close()
        await self._store.close()
        if self.shared is not None:
            await self.shared.close()  # the final counts, for a successor in this slot
