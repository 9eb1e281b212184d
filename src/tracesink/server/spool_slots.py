"""Spools no worker will run: handed on to one that will, before any worker starts.

Under ``serve --workers N`` worker K spools in its own folder (``Settings.spool_path``). Started
again with fewer workers, the spools of workers N and above would wait for ever, their
acknowledged entries never stored; so the parent moves every batch they hold into the spool of
worker ``K mod N`` (batch ids kept, so a replay stays idempotent), which replays them once it
runs. Nothing else has these files open then: the port is this instance's, so no other instance
of it runs.

Moved batch by batch, each appended (fsynced) before it is removed from where it was: a crash
in between leaves a batch in both, which the store recognises by its id and stores once.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from tracesink.config import WORKER_SPOOL_PREFIX, Settings
from tracesink.store.spool import Spool


def orphaned(settings: Settings) -> list[tuple[int, Path]]:
    """(worker index, folder) of each spool whose worker will not run, lowest index first."""
    base = settings.spool_path()
    if base is None or not base.is_dir():
        return []
    found = []
    for folder in base.iterdir():
        index = folder.name.removeprefix(WORKER_SPOOL_PREFIX)
        if (
            folder.name.startswith(WORKER_SPOOL_PREFIX)
            and index.isdigit()
            and int(index) >= settings.workers
            and (folder / "spool.sqlite3").exists()
        ):
            found.append((int(index), folder))
    return sorted(found)


async def hand_on(settings: Settings, owner: str) -> int:
    """Move the orphaned spools' batches to running workers' spools; the entries moved.

    ``owner`` is the store's masked URL, as the spools record it: a spool written for another
    store is refused here as it would be by a worker (SpoolOfAnotherStore)."""
    moved = 0
    for index, folder in orphaned(settings):
        target_path = settings.spool_path(index % settings.workers)
        assert target_path is not None  # orphaned() found a spool, so spooling is on
        # No size bound while handing on: what was acknowledged is kept, whatever it weighs.
        source = Spool(folder, sys.maxsize, owner)
        target = Spool(target_path, sys.maxsize, owner)
        await source.open()
        try:
            await target.open()
            try:
                while (batch := await source.oldest()) is not None:
                    await target.append(batch.batch_id, batch.created_ms, batch.entries)
                    await source.remove(batch)
                    moved += len(batch.entries)
            finally:
                await target.close()
        finally:
            await source.close()  # empty now: its files are removed
        with contextlib.suppress(OSError):
            folder.rmdir()
    return moved
