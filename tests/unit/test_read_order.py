"""read_order.py: the order a trace is told in, over decoded list items (no store involved)."""

from __future__ import annotations

from typing import Any

from tracesink.read_order import event_key, event_order, in_order
from tracesink.times import iso_ms

T0 = 1_795_946_400_000


def entry(name: str, at_ms: int) -> dict[str, Any]:
    return {"id": name, "message": name, "timestamp": iso_ms(at_ms)}


def names(items: list[dict[str, Any]]) -> list[str]:
    return [str(item.get("message", item.get("kind"))) for item in items]


def test_entries_sort_by_event_time_with_arrival_breaking_ties() -> None:
    """A late entry with an early time moves up; equal times keep the order they arrived in."""
    arrived = [entry("b", T0 + 5), entry("c", T0 + 5), entry("a", T0), entry("d", T0 + 9)]
    assert names(event_order(arrived)) == ["a", "b", "c", "d"]
    assert names(in_order(arrived, "arrival")) == ["b", "c", "a", "d"]


def test_a_drop_marker_sits_at_its_first_refusal() -> None:
    """A marker's place is its `first` time (ms, as stored), whatever its `last` is."""
    marker = {"kind": "dropped", "count": 3, "first": T0 + 2, "last": T0 + 50}
    arrived = [entry("a", T0), entry("c", T0 + 10), marker, entry("b", T0 + 1)]
    assert names(event_order(arrived)) == ["a", "b", "dropped", "c"]
    assert event_key(marker) == iso_ms(T0 + 2)
    rendered = {**marker, "first": iso_ms(T0 + 2)}  # as GET /logs shows it: the same place
    assert event_key(rendered) == iso_ms(T0 + 2)


def test_an_item_without_a_readable_time_stays_after_what_arrived_before_it() -> None:
    """An undecodable item (or a malformed timestamp) follows its arrival predecessor, and is
    first when nothing arrived before it; it never makes the sort fail."""
    broken = {"kind": "undecodable", "position": 0, "bytes": 3, "reason": "not UTF-8"}
    odd = {"message": "odd", "timestamp": "yesterday"}
    arrived = [broken, entry("c", T0 + 10), odd, entry("a", T0), entry("b", T0 + 20)]
    assert names(event_order(arrived)) == ["undecodable", "a", "c", "odd", "b"]


def test_the_trimmed_marker_stays_at_the_oldest_end() -> None:
    """A list that outgrew its cap starts with a trimmed marker (no time): it stays first."""
    trimmed = {"kind": "trimmed", "count": 5}
    arrived = [trimmed, entry("b", T0 + 5), entry("a", T0)]
    assert names(event_order(arrived)) == ["trimmed", "a", "b"]
