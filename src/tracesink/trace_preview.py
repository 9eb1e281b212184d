"""The one line a trace list shows for a trace: what a reader would want to see first.

Its first error's message, else its first entry's, "first" by event time (the entry's
``timestamp``, a fixed-width ISO string that sorts as text), arrival order breaking ties, as a
trace is read. Whitespace runs (a stack pasted into a message) become one space, and the line is
cut to ``PREVIEW_CHARS``: a preview names the trace, it does not replace reading it. Computed
from the items a trace summary reads anyway, so it costs no store command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PREVIEW_CHARS = 120


def preview_of(entries: Sequence[dict[str, Any]]) -> str | None:
    """The preview of a trace's ``entries`` (arrival order, markers left out), or None.

    One pass, no sort: a listed trace may hold a thousand entries, and the list shows 100."""
    first_entry = first_error = None
    first_at = error_at = ""
    for entry in entries:
        at = _event_time(entry)
        if first_entry is None or at < first_at:  # strictly earlier: arrival breaks ties
            first_entry, first_at = entry, at
        if entry.get("level") == "error" and (first_error is None or at < error_at):
            first_error, error_at = entry, at
    chosen = first_error or first_entry
    if chosen is None or not isinstance(chosen.get("message"), str):
        return None
    line = " ".join(chosen["message"].split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def _event_time(entry: dict[str, Any]) -> str:
    timestamp = entry.get("timestamp")
    return timestamp if isinstance(timestamp, str) else ""
