"""Entry ids: unique, and sorted as their creation times are."""

from __future__ import annotations

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
