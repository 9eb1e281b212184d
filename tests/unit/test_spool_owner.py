"""A spool belongs to the store it was written for: it is never replayed into another one, the
default place differs per store, and no empty folder is left behind."""

from __future__ import annotations

import asyncio
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
