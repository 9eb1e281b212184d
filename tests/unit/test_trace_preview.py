"""The trace list's preview line: first error, else first entry, by event time, one line, cut."""

from __future__ import annotations

from tracesink.trace_preview import PREVIEW_CHARS, preview_of


def entry(message: str, at: str, level: str = "info") -> dict[str, str]:
    return {"message": message, "timestamp": f"2026-12-06T10:00:{at}.000Z", "level": level}


def test_the_first_error_by_event_time_wins_over_earlier_messages() -> None:
    """An error anywhere in the trace is the preview, the earliest one by event time."""
    entries = [entry("click", "01"), entry("late", "09", "error"), entry("boom", "05", "error")]
    assert preview_of(entries) == "boom"


def test_without_an_error_the_first_entry_by_event_time() -> None:
    """No error: the entry that happened first, whatever arrived first; ties keep arrival."""
    assert preview_of([entry("second", "02"), entry("first", "01")]) == "first"
    assert preview_of([entry("a", "01"), entry("b", "01")]) == "a"


def test_a_preview_is_one_line_and_cut() -> None:
    """Newlines and runs of spaces become one space; a long message ends with an ellipsis."""
    assert preview_of([entry("Error: x\n    at f (a.js:1)", "01")]) == "Error: x at f (a.js:1)"
    cut = preview_of([entry("y" * 500, "01")])
    assert cut is not None
    assert len(cut) == PREVIEW_CHARS
    assert cut.endswith("…")


def test_an_empty_trace_has_no_preview() -> None:
    """A trace of drop markers only (nothing stored in it readable) previews nothing."""
    assert preview_of([]) is None
