"""How a terminal command prints: rich for a person, exact JSON for a pipe.

``rich`` decides colour the way a user expects (none when ``NO_COLOR`` is set or the output is
not a terminal, ``FORCE_COLOR`` to force it) and escapes markup, which matters for log text:
a message containing ``[red]`` is printed as written, never interpreted. Lines are never wrapped
(``soft_wrap``), so a pipe gets one line per entry.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import msgspec
from rich.console import Console
from rich.text import Text

from tracesink.sourcemaps.resolve import resolved_text, unresolved_note

LEVEL_STYLES = {"error": "bold red", "warn": "yellow", "info": "cyan", "log": "dim"}
SYSTEM_STYLES = {
    "browser": "magenta",
    "worker": "blue",
    "convex": "green",
    "manual": "white",
}


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def print_json(content: Any) -> None:
    """One JSON document, exactly, for a pipe."""
    sys.stdout.write(msgspec.json.encode(content).decode() + "\n")
    sys.stdout.flush()


def clock_of(iso: str) -> str:
    """``2026-11-29T10:00:02.123Z`` → ``10:00:02.123``."""
    return iso[11:23] if len(iso) >= 23 else iso


def ms_of(iso: str) -> int | None:
    """``2026-11-29T10:00:02.123Z`` → milliseconds since the epoch; None when unreadable."""
    try:
        return round(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def event_time(entry: dict[str, Any]) -> str:
    """When it happened: the (corrected) sender's time, else the receive time."""
    return str(entry.get("timestamp") or entry.get("received_at") or "")


def relative(iso: str, origin_ms: int) -> str:
    """``iso`` as seconds after ``origin_ms``: ``+0.000s``, ``+1.250s`` (``-`` before it)."""
    ms = ms_of(iso)
    return "" if ms is None else f"{(ms - origin_ms) / 1000:+.3f}s"


def clock_note(entry: dict[str, Any]) -> str:
    """What the service corrected the sender's clock by, and the time the sender stamped."""
    offset = entry.get("clock_offset_ms")
    if not isinstance(offset, int):
        return ""
    return f"  (clock {offset / 1000:+.3f}s, sent {clock_of(str(entry.get('sent_timestamp')))})"


LATE_MS = 1000  # a receive time this far from the event time is shown: more than transit


def arrival_note(entry: dict[str, Any], origin_ms: int | None = None) -> str:
    """The receive time, when it is a second or more away from the event time (a batch that
    waited, a retry, a spool replay): both times are shown only when they tell different
    things."""
    received, happened = str(entry.get("received_at", "")), ms_of(str(entry.get("timestamp", "")))
    received_ms = ms_of(received)
    if received_ms is None or happened is None or abs(received_ms - happened) < LATE_MS:
        return ""
    shown = clock_of(received) if origin_ms is None else relative(received, origin_ms)
    return f"  (received {shown})"


def entry_line(
    entry: dict[str, Any], with_trace: bool = False, origin_ms: int | None = None
) -> Text:
    """One entry as one readable line, at its event time (relative to ``origin_ms`` when
    given); a clock correction after the message; context and stack indented below it."""
    if entry.get("kind"):  # a drop or trimmed marker, or an undecodable item (store/items.py)
        return Text(f"  ── {entry.get('message', 'entries dropped')} ──", style="bold yellow")
    level = str(entry.get("level", "log"))
    system = str(entry.get("system", "?"))
    line = Text()
    at = event_time(entry)
    line.append(clock_of(at) if origin_ms is None else f"{relative(at, origin_ms):>9}", style="dim")
    line.append("  ")
    if with_trace:
        line.append(f"{entry.get('trace_id', '')}  ", style="bold")
    line.append(f"{system:<8}", style=SYSTEM_STYLES.get(system, "white"))
    line.append(" ")
    line.append(f"{level.upper():<5}", style=LEVEL_STYLES.get(level, ""))
    line.append("  ")
    line.append(str(entry.get("message", "")), style="bold red" if level == "error" else "")
    line.append(clock_note(entry) + arrival_note(entry, origin_ms), style="dim")
    if "context" in entry:
        line.append("\n    context ", style="dim")
        line.append(msgspec.json.encode(entry["context"]).decode())
    if entry.get("release"):
        line.append(f"\n    release {entry['release']}", style="dim")
    resolved = entry.get("resolved")
    if resolved is not None and unresolved_note(resolved) is None:
        # Through the release's source maps (sourcemaps/resolve.py): at least one frame read.
        for stack_line in resolved_text(resolved).splitlines():
            line.append(f"\n    {stack_line}", style="dim")
    elif "stack" in entry:
        for stack_line in str(entry["stack"]).splitlines():
            line.append(f"\n    {stack_line}", style="dim")
        note = unresolved_note(resolved) if resolved is not None else None
        if note is not None and entry.get("release"):
            line.append(f"\n    (stack not resolved: {note})", style="dim")
    return line
