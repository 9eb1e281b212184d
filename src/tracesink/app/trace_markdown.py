"""A trace as a Markdown report (``GET /logs/{trace_id}?format=md``): for a bug report, or to
paste into an agent's prompt.

A header (trace id, systems, levels, first error, drops, expiry), one table row per item in the
read's order (relative time, system, level, message; markers as rows of their own), then each
entry's context and stack in fenced blocks. Log text is hostile input: in the table it is
escaped (the characters inline Markdown acts on backslash-escaped, ``& < >`` as HTML entities,
line breaks as ``<br>``), and a fenced block's fence is longer than any backtick run inside it,
so no message can close a block, open a link or inject HTML into the document.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from tracesink.errors import ValidationError
from tracesink.ingest.timestamp import iso_ms
from tracesink.model import LOG_LEVELS

MAX_CELL_CHARS = 500  # a table cell's message; the whole text is in the details below
# What formats inline text (emphasis, code, links, tables, strikethrough): no text here starts
# a line, so the characters that matter only there (#, -, +, 1.) need nothing.
_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICKS = re.compile(r"`+")


def escape(text: str) -> str:
    """``text`` as literal inline Markdown: nothing in it formats, links or opens HTML."""
    text = _PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINE_BREAK.sub("<br>", text)


def fenced(text: str, info: str = "") -> str:
    """``text`` in a fenced code block no line of it can close."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _ms(text: Any) -> int | None:
    try:
        return iso_ms(text) if isinstance(text, str) else None
    except ValidationError:
        return None


def _clock(text: Any) -> str:
    return text[11:23] if isinstance(text, str) and len(text) >= 23 else str(text or "")


def _cell(text: Any) -> str:
    text = str(text)
    if len(text) > MAX_CELL_CHARS:
        text = f"{text[:MAX_CELL_CHARS]}… ({len(text)} characters)"
    return escape(text)


def trace_markdown(trace: dict[str, Any]) -> str:
    """The report of a trace as ``GET /logs/{trace_id}`` answers it in JSON."""
    items: list[dict[str, Any]] = trace["entries"]
    entries = [item for item in items if "kind" not in item]
    start = min((ms for e in entries if (ms := _ms(e.get("timestamp"))) is not None), default=None)
    lines = [f"# Trace {escape(trace['trace_id'])}", ""]
    lines += _header(trace, entries)
    lines += ["", "| # | time | +ms | system | level | message |", "|---:|---|---:|---|---|---|"]
    details: list[str] = []
    number = 0
    for item in items:
        if "kind" in item:
            lines.append(f"| | | | | | **{_cell(item.get('message', item['kind']))}** |")
            continue
        number += 1
        at = _ms(item.get("timestamp"))
        offset = f"+{at - start}" if at is not None and start is not None else ""
        lines.append(
            f"| {number} | {escape(_clock(item.get('timestamp')))} | {offset} "
            f"| {_cell(item.get('system', ''))} | {_cell(item.get('level', ''))} "
            f"| {_cell(item.get('message', ''))} |"
        )
        details += _details(number, item)
    if details:
        lines += ["", "## Context and stacks", "", *details]
    return "\n".join(lines).rstrip() + "\n"


def _header(trace: dict[str, Any], entries: list[dict[str, Any]]) -> list[str]:
    systems = sorted({str(e.get("system", "")) for e in entries})
    levels = dict.fromkeys(reversed(LOG_LEVELS), 0)
    for entry in entries:
        level = str(entry.get("level", ""))
        levels[level] = levels.get(level, 0) + 1
    counted = ", ".join(f"{n} {_cell(level)}" for level, n in levels.items() if n)
    shown = f"{trace.get('count', len(entries))} of {trace.get('total', len(entries))}"
    lines = [
        f"- **Systems:** {', '.join(_cell(s) for s in systems) or 'none'}",
        f"- **Levels:** {counted or 'none'}",
        f"- **Entries:** {escape(shown)}",
    ]
    error = next((e for e in entries if e.get("level") == "error"), None)
    if error is not None:
        lines.append(
            f"- **First error:** {escape(_clock(error.get('timestamp')))} · "
            f"{_cell(error.get('system', ''))} · {_cell(error.get('message', ''))}"
        )
    dropped = trace.get("dropped", {})
    if dropped.get("total"):
        by = ", ".join(
            f"{n} by the {_cell(level)} quota"
            for level, n in dropped.items()
            if level != "total" and n
        )
        lines.append(f"- **Dropped:** {dropped['total']} ({by})")
    if trace.get("trimmed"):
        lines.append(f"- **Trimmed:** {trace['trimmed']} oldest items (the trace outgrew its cap)")
    lines.append(f"- **Expires:** {escape(str(trace.get('expires_at') or 'never'))}")
    return lines


def _details(number: int, entry: dict[str, Any]) -> list[str]:
    if "context" not in entry and "stack" not in entry:
        return []
    title = f"### {number} · {_cell(entry.get('system', ''))} · {_cell(entry.get('level', ''))}"
    lines = [title, ""]
    if "context" in entry:
        context = msgspec.json.format(msgspec.json.encode(entry["context"]), indent=2).decode()
        lines += [fenced(context, "json"), ""]
    if "stack" in entry:
        lines += [fenced(str(entry["stack"])), ""]
    return lines
