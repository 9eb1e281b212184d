"""``SpoolingStore``: a store decorator that never drops an acknowledged batch during an outage.

While the store answers, every call goes straight through. When a write fails because the store
cannot be reached, the batch is decided by this instance's own counters, its admitted entries are
appended (and fsynced) to the on-disk spool, and the caller learns they are *queued*, not stored
(the app answers 202). From then on, new batches join the spool behind it, so that order is kept,
until a background task has replayed the whole spool, oldest first, through the store's
idempotent ``replay_batch``. A full spool raises ``SpoolFull`` (503 with Retry-After).
A batch the store stored but its replicas did not confirm (``ReplicasBehind``, the replica wait)
is spooled as the store decided it, and replayed the same way.

During an outage each instance enforces the limits on its own counters, each level scaled by
``outage_share`` percent (default 100: one instance alone could spend the whole quota, so with N
instances an outage can admit up to N times the limits; set 100/N to stay within them).
Refusals during an outage leave no drop markers, since markers live in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import msgspec

from tracesink.errors import StorageError
from tracesink.limits import Decision, LocalCounters, Policy
from tracesink.model import PreparedEntry
from tracesink.store.base import Store, new_batch_id
from tracesink.store.decorator import StoreDecorator
from tracesink.store.replica_wait import ReplicasBehind
from tracesink.store.spool import Spool

log = logging.getLogger("tracesink")

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0


def outage_policy(policy: Policy, share_pct: int) -> Policy:
    def scaled(limit: int) -> int:
        return max(1, limit * share_pct // 100) if limit else 0

    return replace(
        policy,
        global_limit=scaled(policy.global_limit),
        trace_limit=scaled(policy.trace_limit),
        system_limits={name: scaled(limit) for name, limit in policy.system_limits.items()},
    )


@dataclass(frozen=True, slots=True)
class SpoolStatus:
    entries: int  # waiting to be replayed into the store
    bytes: int


class SpoolingStore(StoreDecorator):
    def __init__(self, store: Store, spool: Spool, policy: Policy, outage_share_pct: int) -> None:
        super().__init__(store)
        self._spool = spool
        self._local = LocalCounters(outage_policy(policy, outage_share_pct))
        self._replayer: asyncio.Task[None] | None = None
        self._clock_ms = 0  # the latest now_ms seen: replays need one and have no request

    def spool_status(self) -> SpoolStatus:
        return SpoolStatus(self._spool.entries, self._spool.bytes)

    async def open(self, now_ms: int) -> None:
        """Open the spool; a spool left by a crash is replayed at once."""
        self._clock_ms = now_ms
        await self._spool.open()
        if self._spool.entries:
            log.warning("replaying %d spooled entries left from before", self._spool.entries)
            self._start_replay()

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        self._clock_ms = now_ms
        batch_id = batch_id or new_batch_id()
        if not self._spool.entries:
            try:
                return await self._store.write_batch(entries, now_ms, batch_id)
            except ReplicasBehind as exc:
                log.warning("replicas behind, spooling to %s: %s", self._spool.path, exc)
                return await self._spool_decided(entries, now_ms, batch_id, exc.decisions)
            except StorageError as exc:
                log.warning("store unreachable, spooling to %s: %s", self._spool.path, exc)
        return await self._spool_batch(entries, now_ms, batch_id)

    async def _spool_decided(
        self,
        entries: Sequence[PreparedEntry],
        now_ms: int,
        batch_id: str,
        decisions: Sequence[Decision],
    ) -> list[Decision]:
        """A batch the store decided and stored but could not confirm on its replicas
        (store/replica_wait.py): what it admitted is spooled under the same batch id, whose
        replay stores it only if a failover lost it, and is answered 202 queued."""
        admitted = [e for e, d in zip(entries, decisions, strict=True) if d.admitted]
        if admitted:
            await self._spool.append(batch_id, now_ms, admitted)
            self._start_replay()
        return [msgspec.structs.replace(d, queued=True) if d.admitted else d for d in decisions]

    async def _spool_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str
    ) -> list[Decision]:
        before = self._local.snapshot(now_ms)
        decisions = self._local.decide([(e.trace_id, e.system) for e in entries], now_ms)
        admitted = [e for e, d in zip(entries, decisions, strict=True) if d.admitted]
        if admitted:
            try:
                await self._spool.append(batch_id, now_ms, admitted)
            except StorageError:
                self._local.restore(before)  # nothing was kept, so no quota was spent
                raise
            self._start_replay()
        return [msgspec.structs.replace(d, queued=True) if d.admitted else d for d in decisions]

    def _start_replay(self) -> None:
        if self._replayer is None or self._replayer.done():
            self._replayer = asyncio.create_task(self._replay())

    async def _replay(self) -> None:
        delay = RETRY_FIRST_S
        while self._spool.entries:
            batch = await self._spool.oldest()
            if batch is None:
                break
            try:
                await self._store.replay_batch(
                    batch.batch_id, batch.entries, batch.created_ms, self._clock_ms
                )
            except StorageError as exc:
                # Kept, never dropped, whatever the error: an acknowledged batch waits until
                # the store takes it. A store that refuses it for good shows as a spool that
                # does not drain (/health degraded) and as this line in the log.
                if delay == RETRY_MAX_S:
                    log.warning("spool replay still failing, retrying: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            await self._spool.remove(batch)
            delay = RETRY_FIRST_S
        log.warning("spool replayed: writing to the store again")

    # An import is never spooled: answered by the store or refused (503), and run again; reads,
    # pins and the rest go straight through (StoreDecorator).

    async def close(self) -> None:
        """Stop replaying (the spool keeps what is left for the next start) and close both."""
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
        await self._spool.close()
        await self._store.close()
