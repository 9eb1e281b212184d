"""Entries as text an agent reads well: one line each, the context and stack folded beneath it.

``+0.123s worker   error  message`` (time relative to the first entry shown), then at most a
line of context (compact JSON, cut) and the stack's first frames, library frames left out. Every
cut says what it cut, so an agent knows to ask for JSON (``format="json"``) when it needs it all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from tracesink.sourcemaps.resolve import resolved_text, unresolved_note

MESSAGE_CHARS = 500
CONTEXT_CHARS = 400
STACK_FRAMES = 6
STACK_LINE_CHARS = 200
# Frames from these paths are the libraries' own, seldom what an agent should change.
LIBRARY_FRAMES = ("node_modules", "site-packages", "dist-packages", "node:internal", "<frozen ")


def ms_of(iso: Any) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 time, None when it is not one."""
    if not isinstance(iso, str):
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def clock(iso: Any) -> str:
    """``HH:MM:SS.mmm`` of an ISO time (UTC), or the text as it is."""
    text = str(iso or "")
    return text[11:23] if len(text) >= 23 and text[10] == "T" else text


def relative(ms: int | None, t0_ms: int | None) -> str:
    if ms is None or t0_ms is None:
        return "+?"
    return f"{'+' if ms >= t0_ms else '-'}{abs(ms - t0_ms) / 1000:.3f}s"


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} chars)"


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def fold_context(context: Any) -> str:
    return cut(msgspec.json.encode(context).decode(), CONTEXT_CHARS)


def fold_stack(stack: str) -> list[str]:
    """The stack's first line, then its first frames outside libraries; the rest counted."""
    lines = [line.strip() for line in stack.splitlines() if line.strip()]
    if not lines:
        return []
    head, frames = lines[0], lines[1:]
    own = [f for f in frames if not any(marker in f for marker in LIBRARY_FRAMES)]
    kept = own[:STACK_FRAMES]
    folded = [cut(head, STACK_LINE_CHARS), *(cut(f, STACK_LINE_CHARS) for f in kept)]
    if len(frames) > len(kept):
        folded.append(f"(+{len(frames) - len(kept)} frames: libraries or deeper)")
    return folded


def entry_text(entry: dict[str, Any], when: str, trace: bool = False) -> str:
    """An entry: ``when`` (relative time or clock), system, level, message, then its folds."""
    level = str(entry.get("level", "log"))
    head = [when, str(entry.get("system", "?")), level.upper() if level == "error" else level]
    if trace:
        head.append(f"[{entry.get('trace_id', '?')}]")
    head.append(cut(one_line(entry.get("message", "")), MESSAGE_CHARS))
    lines = [" ".join(head)]
    if entry.get("truncated"):
        lines[0] += " (truncated at ingest)"
    if "user_id" in entry:
        lines.append(f"    user: {entry['user_id']}")
    if "context" in entry:
        lines.append(f"    context: {fold_context(entry['context'])}")
    if entry.get("release"):
        lines.append(f"    release: {entry['release']}")
    resolved = entry.get("resolved")
    if resolved is not None and unresolved_note(resolved) is None:
        # Read through the release's source maps: the original frames, library ones left out.
        # Each frame is a line, with the original source line beneath it when the map has it.
        mapped = [line.strip() for line in resolved_text(resolved).splitlines() if line.strip()]
        lines.append("    stack (source-mapped):")
        lines.extend(f"      {cut(line, STACK_LINE_CHARS)}" for line in mapped[: 2 * STACK_FRAMES])
        if len(mapped) > 2 * STACK_FRAMES:
            lines.append(f"      (+{len(mapped) - 2 * STACK_FRAMES} lines)")
    elif isinstance(entry.get("stack"), str):
        folded = fold_stack(entry["stack"])
        if folded and folded[0] == cut(one_line(entry.get("message", "")), STACK_LINE_CHARS):
            folded = folded[1:]  # the stack's first line is the message, said just above
        lines.extend(f"    {line}" for line in folded)
    return "\n".join(lines)


def item_text(item: dict[str, Any], t0_ms: int | None) -> str:
    """An item of a trace's list: an entry, a drop or trimmed marker, or a placeholder."""
    kind = item.get("kind")
    if kind is None:
        return entry_text(item, relative(ms_of(item.get("timestamp")), t0_ms))
    return f"-- {one_line(item.get('message', kind))} --"
