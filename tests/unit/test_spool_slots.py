"""Spools of workers that will not run are handed on, batch by batch, to workers that will."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.store.test_spooling import T0, entry
from tracesink.config import Settings
from tracesink.server.spool_slots import hand_on, orphaned
from tracesink.store.spool import Spool, SpoolOfAnotherStore

OWNER = "redis://localhost:6379/0"


async def spool_with(folder: Path, batches: dict[str, list[int]], owner: str = OWNER) -> None:
    spool = Spool(folder, 1 << 20, owner)
    await spool.open()
    for batch_id, numbers in batches.items():
        await spool.append(batch_id, T0, [entry(n) for n in numbers])
    await spool.close()


async def contents(folder: Path) -> list[tuple[str, list[str]]]:
    """(batch id, entry ids) of every batch, oldest first; the spool is emptied."""
    spool = Spool(folder, 1 << 20, OWNER)
    await spool.open()
    found = []
    while (batch := await spool.oldest()) is not None:
        found.append((batch.batch_id, [e.id for e in batch.entries]))
        await spool.remove(batch)
    await spool.close()
    return found


@pytest.fixture
def two_workers(tmp_path: Path) -> Settings:
    return replace(Settings(), store=OWNER, spool_dir=str(tmp_path), workers=2)


async def test_spools_beyond_the_workers_are_moved_to_running_ones(
    two_workers: Settings, tmp_path: Path
) -> None:
    """Workers 2 and 3 left spools and only 2 workers start: worker 2's batches go to worker 0's
    spool after its own, worker 3's to worker 1's, batch ids and entries kept; their folders are
    gone, and nothing is orphaned any more."""
    await spool_with(tmp_path, {"own0": [1]})
    await spool_with(tmp_path / "worker-2", {"b2a": [2, 3], "b2b": [4]})
    await spool_with(tmp_path / "worker-3", {"b3": [5]})
    assert [index for index, _ in orphaned(two_workers)] == [2, 3]
    assert await hand_on(two_workers, OWNER) == 4
    assert orphaned(two_workers) == []
    assert not (tmp_path / "worker-2").exists()
    assert not (tmp_path / "worker-3").exists()
    assert await contents(tmp_path) == [
        ("own0", ["id0001"]),
        ("b2a", ["id0002", "id0003"]),
        ("b2b", ["id0004"]),
    ]
    assert await contents(tmp_path / "worker-1") == [("b3", ["id0005"])]


async def test_spools_of_running_workers_and_other_folders_are_left(
    two_workers: Settings, tmp_path: Path
) -> None:
    """Worker 1's spool is its own; a folder that is no worker's spool is not touched; without
    a spool (off, or none yet) nothing is done."""
    await spool_with(tmp_path / "worker-1", {"b1": [1]})
    (tmp_path / "worker-x").mkdir()
    (tmp_path / "worker-5").mkdir()  # no spool in it
    assert orphaned(two_workers) == []
    assert await hand_on(two_workers, OWNER) == 0
    assert orphaned(replace(two_workers, spool_dir="off")) == []
    assert orphaned(replace(two_workers, spool_dir=str(tmp_path / "none"))) == []


async def test_a_spool_of_another_store_is_refused_not_moved(
    two_workers: Settings, tmp_path: Path
) -> None:
    """An orphaned spool written for another store stops start-up, as a worker's own would."""
    await spool_with(tmp_path / "worker-4", {"b4": [1]}, owner="redis://elsewhere:6379/0")
    with pytest.raises(SpoolOfAnotherStore, match="redis://elsewhere"):
        await hand_on(two_workers, OWNER)
    assert (tmp_path / "worker-4" / "spool.sqlite3").exists()
