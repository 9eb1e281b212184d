"""Entry ids: unique, and sorted as their creation times are."""

from __future__ import annotations

import os

from tracesink.ids import new_id
from tracesink.times import iso_ms


def test_ids_sort_by_time_and_never_repeat() -> None:
    ids = [new_id(ms) for ms in (1_000, 1_000, 2_000, 1_795_946_400_000)]
    assert sorted(ids) == ids
    assert len(set(ids)) == len(ids)
    assert {len(i) for i in ids} == {28}


def test_times_are_iso_8601_utc_with_milliseconds() -> None:
    assert iso_ms(1_795_946_400_123) == "2026-11-29T10:00:00.123Z"
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"


def test_a_forked_process_draws_ids_of_its_own() -> None:
    """Two worker processes forked from one parent never give two entries one id: the child
    draws its own prefix and counter (with its parent's copied, the first id each made in one
    millisecond was the same)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then gone without the parent's clean-up
        os.write(write, new_id(5_000).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    mine = new_id(5_000)
    assert child[12:20] != mine[12:20]  # the per-process part
    assert child != mine
