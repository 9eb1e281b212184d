"""A spool belongs to the store it was written for: it is never replayed into another one, the
default place differs per store, and no empty folder is left behind."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.store.test_spooling import T0, entry
from tracesink.config import Settings
from tracesink.store.spool import Spool, SpoolOfAnotherStore

FIRST, SECOND = "RedisStore('redis://a:6379/0')", "RedisStore('redis://b:6379/0')"


async def test_a_spool_with_batches_for_another_store_is_refused(tmp_path: Path) -> None:
    """Batches spooled for one store: opening the spool for another raises, naming both; the
    first store opens it again."""
    spool = Spool(tmp_path, 1 << 20, owner=FIRST)
    await spool.open()
    await spool.append("b1", T0, [entry(1)])
    await spool.close()
    other = Spool(tmp_path, 1 << 20, owner=SECOND)
    with pytest.raises(SpoolOfAnotherStore) as caught:
        await other.open()
    await other.close()
    assert FIRST in str(caught.value)
    assert SECOND in str(caught.value)
    again = Spool(tmp_path, 1 << 20, owner=FIRST)
    await again.open()
    assert again.entries == 1
    await again.close()


async def test_an_empty_spool_may_change_hands(tmp_path: Path) -> None:
    """Nothing waiting: another store may take the place over."""
    spool = Spool(tmp_path, 1 << 20, owner=FIRST)
    await spool.open()
    await spool.close()
    other = Spool(tmp_path, 1 << 20, owner=SECOND)
    await other.open()
    await other.close()


async def test_no_empty_folder_is_left_behind(tmp_path: Path) -> None:
    """A spool folder this instance created is removed with the empty spool; one that was
    given (it existed before) is kept."""
    made = tmp_path / "spool-8787-x"
    spool = Spool(made, 1 << 20)
    await spool.open()
    await spool.close()
    assert not await asyncio.to_thread(made.exists)
    given = Spool(tmp_path, 1 << 20)
    await given.open()
    await given.close()
    assert await asyncio.to_thread(tmp_path.exists)


def test_the_default_spool_place_differs_per_store() -> None:
    """Same port, another store: another default spool directory (a password change is not
    another store)."""
    base = Settings(store="redis://a:6379/0")
    assert base.spool_path() != replace(base, store="redis://b:6379/0").spool_path()
    assert base.spool_path() != replace(base, store="redis://a:6379/1").spool_path()
    with_password = replace(base, store="redis://:pw@a:6379/0")
    assert replace(base, store="redis://:other@a:6379/0").spool_path() == with_password.spool_path()


def modes(folder: Path) -> dict[str, int]:
    """The permission bits of a folder ("." for itself) and of each file in it."""
    found = {entry.name: entry.stat().st_mode & 0o777 for entry in folder.iterdir()}
    return {".": folder.stat().st_mode & 0o777, **found}


def loosen(folder: Path) -> None:
    """The modes an older version left: 0755 for the folder, 0644 for its files."""
    folder.chmod(0o755)
    for file in folder.iterdir():
        file.chmod(0o644)


async def test_spool_files_are_private_to_this_user(tmp_path: Path) -> None:
    """Under a permissive umask, a new spool folder is 0700 and the database with its WAL and
    shared-memory files 0600, while batches wait in it."""
    folder = tmp_path / "spool-8787-x"
    old_umask = os.umask(0o002)  # group-writable by default: the spool must not follow it
    try:
        spool = Spool(folder, 1 << 20)
        await spool.open()
        await spool.append("b1", T0, [entry(1)])
        found = await asyncio.to_thread(modes, folder)
        await spool.close()
    finally:
        os.umask(old_umask)
    assert found == {
        ".": 0o700,
        "spool.sqlite3": 0o600,
        "spool.sqlite3-wal": 0o600,
        "spool.sqlite3-shm": 0o600,
    }


async def test_an_older_spools_modes_are_tightened_on_open(tmp_path: Path) -> None:
    """A spool an older version left (0644 files in a 0755 folder, batches waiting) is opened,
    its batches kept, and its folder set to 0700 and its files to 0600."""
    folder = tmp_path / "spool-8787-x"
    spool = Spool(folder, 1 << 20)
    await spool.open()
    await spool.append("b1", T0, [entry(1)])
    await spool.close()
    await asyncio.to_thread(loosen, folder)
    again = Spool(folder, 1 << 20)
    await again.open()
    assert again.entries == 1
    found = await asyncio.to_thread(modes, folder)
    await again.close()
    assert found["."] == 0o700
    assert {name: mode for name, mode in found.items() if name != "."} == dict.fromkeys(
        [name for name in found if name != "."], 0o600
    )
    assert "spool.sqlite3" in found


async def test_a_shared_folder_keeps_its_mode_but_not_the_spools_files(tmp_path: Path) -> None:
    """TRACESINK_SPOOL_DIR naming a folder that holds other things (as /tmp would): its mode
    is not this instance's to change, but the spool's own files in it are still 0600."""
    await asyncio.to_thread((tmp_path / "someone-elses.txt").write_text, "x")
    await asyncio.to_thread(tmp_path.chmod, 0o755)
    spool = Spool(tmp_path, 1 << 20)
    await spool.open()
    await spool.append("b1", T0, [entry(1)])
    found = await asyncio.to_thread(modes, tmp_path)
    await spool.close()
    assert found["."] == 0o755
    assert found["spool.sqlite3"] == 0o600
    assert found["spool.sqlite3-wal"] == 0o600
