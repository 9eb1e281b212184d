"""The spool and the spooling store: an outage queues acknowledged batches, recovery stores them
once, in order; a full or broken spool refuses instead of losing anything."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tracesink.errors import SpoolFull, StorageError
from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore
from tracesink.store.spool import Spool
from tracesink.store.spooling import SpoolingStore, outage_policy

POLICY = Policy(
    global_limit=1000,
    trace_limit=5,
    system_limits={"browser": 400},
    window_ms=60_000,
    ttl_ms=60_000,
)
T0 = 1_795_946_400_000


class FlakyStore(MemoryStore):
    """The memory store, unreachable while ``down`` is set (as a Redis that went away)."""

    def __init__(self) -> None:
        super().__init__("memory://", POLICY)
        self.down = False
        self.replays: list[str] = []
        self.failed_replays: list[float] = []  # time.monotonic() of each replay refused while down

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        if self.down:
            raise StorageError("connection refused")
        return await super().write_batch(entries, now_ms, batch_id)

    async def ping(self) -> None:
        if self.down:
            raise StorageError("connection refused")

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        if self.down:
            self.failed_replays.append(time.monotonic())
            raise StorageError("connection refused")
        self.replays.append(batch_id)
        return await super().replay_batch(batch_id, entries, written_ms, now_ms)


def entry(n: int, trace: str = "t") -> PreparedEntry:
    return PreparedEntry(f"id{n:04d}", trace, "manual", f'{{"n":{n}}}'.encode())


async def stored(store: MemoryStore, trace: str = "t") -> list[bytes]:
    record = await store.read_trace(trace, T0 + 1)
    return record.items if record else []


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until ``condition()`` holds."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - polls state another task changes
            await asyncio.sleep(0.01)


@pytest.fixture
async def spooling(tmp_path: Path) -> tuple[SpoolingStore, FlakyStore]:
    inner = FlakyStore()
    store = SpoolingStore(inner, Spool(tmp_path, 1 << 20), POLICY, 100)
    await store.open(T0)
    return store, inner


async def test_an_outage_queues_admitted_entries_and_recovery_stores_them_in_order(
    spooling: tuple[SpoolingStore, FlakyStore],
) -> None:
    """Down: decisions say queued and the spool holds them. Up: replayed once, oldest first."""
    store, inner = spooling
    await store.write_batch([entry(0)], T0)
    inner.down = True
    decisions = await store.write_batch([entry(1), entry(2)], T0 + 1)
    assert [(d.admitted, d.queued) for d in decisions] == [(True, True), (True, True)]
    assert store.spool_status().entries == 2
    await store.write_batch([entry(3)], T0 + 2)
    inner.down = False
    await store.write_batch([entry(4)], T0 + 3)  # joins the spool behind the others
    await until(lambda: store.spool_status().entries == 0)
    assert await stored(inner) == [entry(n).payload for n in range(5)]
    assert len(inner.replays) == len(set(inner.replays)) == 3
    await store.close()


async def test_limits_in_an_outage_use_local_counters(
    spooling: tuple[SpoolingStore, FlakyStore],
) -> None:
    """Without the shared store, this instance still refuses past the trace limit."""
    store, inner = spooling
    inner.down = True
    decisions = await store.write_batch([entry(n) for n in range(7)], T0)
    assert [d.limited_by for d in decisions] == [None] * 5 + ["trace"] * 2
    assert store.spool_status().entries == 5
    await store.close()


def test_outage_share_scales_every_level() -> None:
    """With outage_share 50, each instance may admit half of each limit on its own."""
    half = outage_policy(POLICY, 50)
    assert (half.global_limit, half.trace_limit, half.system_limits) == (500, 2, {"browser": 200})


async def test_a_full_spool_refuses_and_spends_no_quota(tmp_path: Path) -> None:
    """Past the size cap the batch is refused (SpoolFull) and its quota is given back."""
    inner = FlakyStore()
    store = SpoolingStore(inner, Spool(tmp_path, 100), POLICY, 100)
    await store.open(T0)
    inner.down = True
    await store.write_batch([entry(0)], T0)
    with pytest.raises(SpoolFull):
        await store.write_batch([entry(n, "other") for n in range(1, 6)], T0)
    decisions = await store.write_batch([entry(9, "other")], T0)
    assert decisions[0].remaining["trace"] == 4  # the refused five were not counted
    await store.close()


async def test_a_spool_left_by_a_crash_is_replayed_at_the_next_start(tmp_path: Path) -> None:
    """Batches spooled before a crash are stored when the next process starts."""
    inner = FlakyStore()
    first = SpoolingStore(inner, Spool(tmp_path, 1 << 20), POLICY, 100)
    await first.open(T0)
    inner.down = True
    await first.write_batch([entry(1), entry(2)], T0)
    await first.close()  # as good as a crash: the spool is all that is left

    inner.down = False
    second = SpoolingStore(inner, Spool(tmp_path, 1 << 20), POLICY, 100)
    await second.open(T0 + 10)
    await until(lambda: second.spool_status().entries == 0)
    assert await stored(inner) == [entry(1).payload, entry(2).payload]
    await second.close()


async def test_a_torn_last_write_is_rolled_back_not_replayed(tmp_path: Path) -> None:
    """A spool whose log ends in a torn write (a crash mid-append) opens with every complete
    batch and without the torn one."""
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    spool = Spool(live, 1 << 20)
    await spool.open()
    await spool.append("b1", T0, [entry(1)])
    await spool.append("b2", T0, [entry(2)])
    # What the disk holds if the process died now: the database and its write-ahead log.
    crashed.mkdir()
    for name in ("spool.sqlite3", "spool.sqlite3-wal"):
        shutil.copy(live / name, crashed / name)
    with (crashed / "spool.sqlite3-wal").open("ab") as wal:
        wal.write(os.urandom(3000))  # a third append, cut off halfway through its frame
    await spool.close()
    reopened = Spool(crashed, 1 << 20)
    await reopened.open()
    assert reopened.entries == 2
    oldest = await reopened.oldest()
    assert oldest is not None
    assert (oldest.batch_id, oldest.entries) == ("b1", [entry(1)])
    await reopened.close()


async def test_a_spool_used_before_it_is_opened_is_a_storage_error(tmp_path: Path) -> None:
    """A spool that was never opened refuses an append with a StorageError, not a crash."""
    broken = Spool(tmp_path, 1 << 20)
    with pytest.raises(StorageError, match="not open"):
        await broken.append("b", T0, [entry(1)])
    await broken.close()


def big_entry(n: int) -> PreparedEntry:
    """An entry larger than a SQLite page, so that appending it needs new pages."""
    return PreparedEntry(f"id{n:04d}", "t", "manual", f'{{"n":{n},"pad":"{"x" * 6000}"}}'.encode())


def set_writable(spool: Spool, failure: str, writable: bool) -> None:
    """Make SQLite itself refuse (or accept again) the spool's writes: ``max_page_count`` at the
    current size gives the error a full disk gives (SQLITE_FULL), ``query_only`` the one a
    read-only disk gives (SQLITE_READONLY). The spool's own sqlite3.Error handling runs, as on a
    real disk; filling or remounting a real one would need root."""
    db = spool._db  # the spool's own connection: the pragmas hold for this connection only
    assert db is not None
    if failure == "disk full":
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {1 << 30 if writable else pages}")
    else:
        db.execute(f"PRAGMA query_only = {'OFF' if writable else 'ON'}")


@pytest.mark.parametrize(
    ("failure", "sqlite_says"),
    [("disk full", "database or disk is full"), ("read-only", "readonly database")],
)
async def test_an_unwritable_spool_refuses_the_batch_keeps_nothing_and_spends_no_quota(
    tmp_path: Path, failure: str, sqlite_says: str
) -> None:
    """When SQLite cannot write the spool (disk full, read-only disk), a batch that would be
    spooled is refused with a StorageError quoting SQLite's error (the app answers 503): the
    spool keeps only what it held before and the refused entries spend no quota, so nothing is
    acknowledged that is not kept. Once the disk takes writes again, so does the spool."""
    inner = FlakyStore()
    spool = Spool(tmp_path, 1 << 20)
    store = SpoolingStore(inner, spool, POLICY, 100)
    await store.open(T0)
    inner.down = True
    await store.write_batch([big_entry(0)], T0)
    held = store.spool_status()
    set_writable(spool, failure, writable=False)
    with pytest.raises(StorageError, match=f"the spool cannot be written: .*{sqlite_says}"):
        await store.write_batch([big_entry(n) for n in (1, 2)], T0)
    assert store.spool_status() == held
    set_writable(spool, failure, writable=True)
    [decision] = await store.write_batch([big_entry(3)], T0)
    # 5 less entries 0 and 3: the two refused spent nothing
    assert (decision.queued, decision.remaining["trace"]) == (True, 3)
    inner.down = False
    await until(lambda: store.spool_status().entries == 0)
    assert await stored(inner) == [big_entry(n).payload for n in (0, 3)]
    await store.close()


async def test_replay_backs_off_while_the_store_stays_down(
    spooling: tuple[SpoolingStore, FlakyStore],
) -> None:
    """While the store stays down, the replayer retries after a wait that doubles each time
    (0.2 s, 0.4 s, 0.8 s, …, at most 5 s), not in a busy loop; the entry waits in the spool and
    is stored once the store is back."""
    store, inner = spooling
    inner.down = True
    await store.write_batch([entry(1)], T0)
    await until(lambda: len(inner.failed_replays) >= 4)
    tries = inner.failed_replays[:4]
    waits = [later - earlier for earlier, later in itertools.pairwise(tries)]
    # asyncio.sleep never wakes early (beyond the clock's ~1 ms); a busy machine only adds.
    assert all(wait >= 0.19 * 2**n for n, wait in enumerate(waits)), f"waits {waits}"
    assert store.spool_status().entries == 1
    inner.down = False
    await until(lambda: store.spool_status().entries == 0)
    assert await stored(inner) == [entry(1).payload]
    await store.close()


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def test_an_empty_spool_is_removed_on_close_and_a_full_one_kept(tmp_path: Path) -> None:
    """Once replayed (empty), the spool leaves no file behind; with entries waiting it stays."""
    spool = Spool(tmp_path, 1 << 20)
    await spool.open()
    await spool.close()
    assert files_in(tmp_path) == []
    kept = Spool(tmp_path, 1 << 20)
    await kept.open()
    await kept.append("b1", T0, [entry(1)])
    await kept.close()
    assert "spool.sqlite3" in files_in(tmp_path)
