"""Read filters: severity at least, systems, text anywhere a person would look, the id cursor,
and drop markers kept where they happened."""

from __future__ import annotations

from typing import Any

from tracesink.read_filter import EntryFilter, TraceFilter
from tracesink.store.base import TraceSummary

A = {"id": "019ad1e3a000aaaaaaaa00000001", "level": "info", "system": "browser", "message": "Click"}
B = {
    "id": "019ad1e3a001aaaaaaaa00000002",
    "level": "error",
    "system": "convex",
    "message": "boom",
    "context": {"order": "Timeout-42"},
}
MARKER: dict[str, Any] = {"kind": "dropped", "count": 2, "last": 0x019AD1E3A002}


def test_level_is_a_minimum_severity() -> None:
    """level=warn keeps warn and error; markers stay under every filter."""
    assert EntryFilter(level="warn").apply([A, B, MARKER]) == [B, MARKER]


def test_systems_and_text() -> None:
    """system matches any of a set; q is case-insensitive and searches the context too."""
    assert EntryFilter(systems=frozenset({"browser", "worker"})).apply([A, B]) == [A]
    assert EntryFilter(text="timeout-42").apply([A, B]) == [B]
    assert EntryFilter(text="CLICK").apply([A, B]) == [A]


def test_since_is_id_greater_than_and_keeps_markers_that_grew_after_it() -> None:
    """since=<id> drops that id and older; a marker whose last refusal is later stays."""
    assert EntryFilter(since=str(A["id"])).apply([A, B, MARKER]) == [B, MARKER]
    assert EntryFilter(since="019ad1e3a003" + "0" * 16).apply([A, B, MARKER]) == []


def test_trace_filters_use_the_summary() -> None:
    """/traces?level=error lists traces with an error; since= those with newer entries."""
    quiet = TraceSummary("q", 1, ["browser"], 0, {"info": 1}, str(A["id"]))
    loud = TraceSummary("l", 2, ["convex"], 0, {"info": 1, "error": 1}, str(B["id"]))
    assert [s.trace_id for s in (quiet, loud) if TraceFilter(level="error").matches(s)] == ["l"]
    assert [s.trace_id for s in (quiet, loud) if TraceFilter(since=str(A["id"])).matches(s)] == [
        "l"
    ]
    assert [
        s.trace_id for s in (quiet, loud) if TraceFilter(systems=frozenset({"browser"})).matches(s)
    ] == ["q"]
