"""How a terminal command prints: rich for a person, exact JSON for a pipe.

``rich`` decides colour the way a user expects (none when ``NO_COLOR`` is set or the output is
not a terminal, ``FORCE_COLOR`` to force it) and escapes markup, which matters for log text:
a message containing ``[red]`` is printed as written, never interpreted. Lines are never wrapped
(``soft_wrap``), so a pipe gets one line per entry.
"""

from __future__ import annotations

import sys
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


def entry_line(entry: dict[str, Any], with_trace: bool = False) -> Text:
    """One entry as one readable line; context and stack indented below it."""
    if entry.get("kind"):  # a drop or trimmed marker, or an undecodable item (store/items.py)
        return Text(f"  ── {entry.get('message', 'entries dropped')} ──", style="bold yellow")
    level = str(entry.get("level", "log"))
    system = str(entry.get("system", "?"))
    line = Text()
    line.append(clock_of(str(entry.get("received_at", ""))), style="dim")
    line.append("  ")
    if with_trace:
        line.append(f"{entry.get('trace_id', '')}  ", style="bold")
    line.append(f"{system:<8}", style=SYSTEM_STYLES.get(system, "white"))
    line.append(" ")
    line.append(f"{level.upper():<5}", style=LEVEL_STYLES.get(level, ""))
    line.append("  ")
    line.append(str(entry.get("message", "")), style="bold red" if level == "error" else "")
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
