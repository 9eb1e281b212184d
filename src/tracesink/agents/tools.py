"""The tools' logic, transport-free: each takes a ``Reader`` and returns the text an agent reads.

Every answer stays within ``MAX_ANSWER_CHARS`` (60,000 characters, about 15k tokens: agents cap
a tool's output near 25k tokens). What does not fit is cut at an item boundary, and the answer
ends saying what was cut and the exact call that returns the rest (a cursor).
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracesink.agents.reader import Reader, ReadFailed
from tracesink.agents.render import clock, entry_text, item_text, ms_of, relative
from tracesink.agents.since import DEFAULT_WINDOW, since_id, since_is_id
from tracesink.errors import ValidationError
from tracesink.read_filter import SEVERITY

MAX_ANSWER_CHARS = 60_000
FOOTER_RESERVE = 600  # the closing note always fits
PAGE_DEFAULT, PAGE_MAX = 200, 1000
FIND_DEFAULT, FIND_MAX = 10, 50
SEARCH_TRACES = 50  # search reads at most this many recent traces
SEARCH_DEFAULT, SEARCH_MAX = 50, 500
FORMATS = ("text", "json")


def _bounded(value: int, name: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", name)
    return value


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError("format must be text or json", "format")
    return fmt


def filter_params(level: str | None, system: str | None, text: str | None) -> dict[str, str]:
    """The read routes' filter parameters (read_query.py checks them and names a bad one)."""
    params: dict[str, str] = {}
    if level:
        params["level"] = level
    if system:
        params["system"] = ",".join(part.strip() for part in system.split(",") if part.strip())
    if text:
        params["q"] = text
    return params


def _counts(entries: list[dict[str, Any]], field: str) -> str:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[str(entry.get(field, "?"))] = counts.get(str(entry.get(field, "?")), 0) + 1
    if field == "level":
        ordered = sorted(counts.items(), key=lambda kv: -SEVERITY.get(kv[0], 0))
    else:
        ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{name} {n}" for name, n in ordered) or "none"


def _entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if "kind" not in item]


def _first_error(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in entries if e.get("level") == "error"), None)


def _json(content: Any) -> str:
    return msgspec.json.encode(content).decode()


async def find_traces(
    reader: Reader,
    now_ms: int,
    since: str | None = DEFAULT_WINDOW,
    level: str | None = None,
    system: str | None = None,
    text: str | None = None,
    limit: int = FIND_DEFAULT,
    fmt: str = "text",
) -> str:
    limit, fmt = _bounded(limit, "limit", 1, FIND_MAX), _format(fmt)
    cursor = since_id(since, now_ms)
    listing = {"limit": str(limit * 5 if text else limit), **filter_params(level, system, None)}
    if cursor:
        listing["since"] = cursor
    found: list[dict[str, Any]] = []
    for summary in await reader.traces(listing):
        document = await reader.trace(summary["trace_id"], filter_params(None, None, text))
        if document is None:
            continue  # expired between the list and the read
        entries = _entries(document["entries"])
        if text and not entries:
            continue
        found.append({**summary, "entries": entries, "document": document})
        if len(found) == limit:
            break
    if fmt == "json":
        return _cut_json(
            [
                {
                    **{k: v for k, v in trace.items() if k not in ("entries", "document")},
                    "first_error": _first_error(trace["entries"]),
                    "preview": trace["entries"][0] if trace["entries"] else None,
                }
                for trace in found
            ]
        )
    window = (
        f"in the last {since}"
        if cursor and since and not since_is_id(since)
        else (f"after {since}" if cursor else "in the store")
    )
    where = ", ".join(f"{k}={v}" for k, v in filter_params(level, system, text).items())
    lines = [
        f"{len(found)} trace(s) with entries {window}{f' ({where})' if where else ''}, "
        "newest first:"
    ]
    if found:  # discovery: the systems and levels there are, to filter by
        every = [e for trace in found for e in trace["entries"]]
        lines.append(f"systems: {_counts(every, 'system')} | levels: {_counts(every, 'level')}")
    for trace in found:
        entries = trace["entries"]
        t0 = ms_of(entries[0].get("timestamp")) if entries else None
        block = [
            f"trace {trace['trace_id']}: last seen {clock(trace['last_seen'])}, "
            f"{trace['count']} entries ({_counts(entries, 'system')}); "
            f"levels: {_counts(entries, 'level')}"
        ]
        if text:
            block[0] += f"; {len(entries)} contain {text!r}"
        dropped = trace["document"].get("dropped", {}).get("total", 0)
        if dropped:
            block[0] += f"; {dropped} dropped by the rate limits"
        error = _first_error(entries)
        if error is not None:
            when = relative(ms_of(error.get("timestamp")), t0)
            block.append("  first error: " + entry_text(error, when).split("\n", 1)[0])
        if entries:
            block.append("  starts: " + entry_text(entries[0], "+0.000s").split("\n", 1)[0])
        lines.append("\n".join(block))
    if not found:
        lines.append(
            "No traces. Widen the window (since='1h'; traces expire after the store's TTL, an "
            "hour by default) or drop a filter."
        )
    else:
        lines.append("Read one: get_trace(trace_id=...).")
    return _cut_text(lines, "limit")


def _start(items: list[dict[str, Any]], cursor: str | None) -> int:
    """Where a page starts: after the entry the cursor names (or, once it is gone from the
    trace, after the last entry whose id is not above it)."""
    if cursor is None:
        return 0
    for index, item in enumerate(items):
        if item.get("id") == cursor:
            return index + 1
    return next(
        (i for i, item in enumerate(items) if "kind" not in item and str(item["id"]) > cursor),
        len(items),
    )


async def get_trace(
    reader: Reader,
    trace_id: str,
    level: str | None = None,
    system: str | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_DEFAULT,
    fmt: str = "text",
) -> str:
    limit, fmt = _bounded(limit, "limit", 1, PAGE_MAX), _format(fmt)
    # Stacks through their release's source maps, as the viewer and the terminal show them.
    params = {**filter_params(level, system, text), "resolve": "1"}
    document = await reader.trace(trace_id, params)
    if document is None:
        raise ReadFailed(
            f"no trace {trace_id}: never written, or expired (traces live for the store's TTL, "
            "an hour by default); find_traces lists the ones there are"
        )
    items: list[dict[str, Any]] = document["entries"]
    matching = _entries(items)
    start = _start(items, cursor)
    t0 = ms_of(matching[0].get("timestamp")) if matching else None
    header = _trace_header(document, matching, t0, level, system, text)
    budget = MAX_ANSWER_CHARS - FOOTER_RESERVE - (len(_json(header)) if fmt == "json" else 0)
    shown: list[dict[str, Any]] = []
    lines: list[str] = [] if fmt == "json" else header
    used = sum(len(line) + 1 for line in lines)
    for item in items[start:]:
        piece = _json(item) if fmt == "json" else item_text(item, t0)
        shown_entries = sum(1 for s in shown if "kind" not in s)
        if shown and (used + len(piece) + 1 > budget or shown_entries >= limit):
            break  # at least one item per page: every page moves the cursor on
        shown.append(item)
        lines.append(piece)
        used += len(piece) + 1
    rest = len(items) - start - len(shown)
    last_id = next((str(s["id"]) for s in reversed(shown) if "kind" not in s), cursor)
    next_cursor = last_id if rest > 0 else None
    if fmt == "json":
        return _json({**_header_json(document), "items": shown, "next_cursor": next_cursor})
    if next_cursor is not None:
        again = ", ".join(
            [f'trace_id="{trace_id}"', f'cursor="{next_cursor}"']
            + [f'{k}="{v}"' for k, v in (("level", level), ("system", system), ("text", text)) if v]
        )
        lines.append(
            f"[page cut after {len(shown)} items (limit {limit} entries, "
            f"{MAX_ANSWER_CHARS:,} characters): {rest} more items. Next page: get_trace({again})]"
        )
    else:
        lines.append("[end of trace]")
    return "\n".join(lines)


def _trace_header(
    document: dict[str, Any],
    matching: list[dict[str, Any]],
    t0: int | None,
    level: str | None,
    system: str | None,
    text: str | None,
) -> list[str]:
    where = ", ".join(f"{k}={v}" for k, v in filter_params(level, system, text).items())
    dropped, trimmed = document.get("dropped", {}), int(document.get("trimmed", 0))
    lines = [
        f"trace {document['trace_id']}: {document.get('total', len(matching))} entries stored"
        + (f", {len(matching)} match {where}" if where else ""),
        f"systems: {_counts(matching, 'system')} | levels: {_counts(matching, 'level')}",
    ]
    error = _first_error(matching)
    if error is not None:
        when = relative(ms_of(error.get("timestamp")), t0)
        lines.append("first error: " + entry_text(error, when).split("\n", 1)[0])
    if dropped.get("total"):
        lines.append(
            f"dropped: {dropped['total']} entries refused by the rate limits "
            "(markers in place below)"
        )
    if trimmed:
        lines.append(f"trimmed: the {trimmed} oldest items are gone (TRACESINK_MAX_TRACE_ENTRIES)")
    lines.append(f"expires: {document.get('expires_at') or 'never'}")
    if matching:
        lines.append(f"times: from {matching[0].get('timestamp')} (the first matching entry)")
    lines.append("")
    return lines


def _header_json(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "entries"}


async def search(
    reader: Reader,
    now_ms: int,
    text: str,
    level: str | None = None,
    system: str | None = None,
    since: str | None = DEFAULT_WINDOW,
    limit: int = SEARCH_DEFAULT,
    fmt: str = "text",
) -> str:
    if not text:
        raise ValidationError("text must not be empty (find_traces lists traces)", "text")
    limit, fmt = _bounded(limit, "limit", 1, SEARCH_MAX), _format(fmt)
    cursor = since_id(since, now_ms)
    listing = {"limit": str(SEARCH_TRACES), **filter_params(level, system, None)}
    params = filter_params(level, system, text)
    if cursor:
        listing["since"] = params["since"] = cursor
    traces = await reader.traces(listing)
    found: list[dict[str, Any]] = []
    for summary in traces:
        document = await reader.trace(summary["trace_id"], params)
        if document is not None:
            found.extend(_entries(document["entries"]))
    found.sort(key=lambda entry: str(entry.get("id", "")), reverse=True)
    more = len(found) - limit
    found = found[:limit]
    if fmt == "json":
        return _cut_json(found)
    window = (
        f"in the last {since}"
        if cursor and since and not since_is_id(since)
        else (f"after {since}" if cursor else "in the store")
    )
    lines = [
        f"{len(found)} entries contain {text!r} {window}, newest first "
        f"(searched the {len(traces)} most recent matching traces, at most {SEARCH_TRACES}):"
    ]
    lines.extend(entry_text(entry, clock(entry.get("timestamp")), trace=True) for entry in found)
    if more > 0:
        lines.append(f"[{more} more beyond limit={limit}: narrow since or the filters]")
    if not found:
        lines.append(
            "Nothing. Widen since ('1h', 'all') or shorten the text: it is looked for in the "
            "message, stack, user id and context."
        )
    return _cut_text(lines, "since or limit")


async def latest_error(reader: Reader, now_ms: int, since: str | None = "1h") -> str:
    """The newest trace with an error, as get_trace tells it (a prompt's text)."""
    listing = {"limit": "1", "level": "error"}
    cursor = since_id(since, now_ms)
    if cursor:
        listing["since"] = cursor
    traces = await reader.traces(listing)
    if not traces:
        return f"No trace has an error since {since}."
    return await get_trace(reader, traces[0]["trace_id"])


def _cut_text(lines: list[str], narrow: str) -> str:
    """The lines that fit in the answer, and a note of how many did not."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > MAX_ANSWER_CHARS - FOOTER_RESERVE:
            kept.append(
                f"[cut at {MAX_ANSWER_CHARS:,} characters: {len(lines) - len(kept)} more "
                f"lines; narrow {narrow}]"
            )
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _cut_json(items: list[Any]) -> str:
    kept: list[Any] = []
    used = 0
    for item in items:
        size = len(_json(item)) + 1
        if used + size > MAX_ANSWER_CHARS - FOOTER_RESERVE:
            return _json({"items": kept, "cut": len(items) - len(kept)})
        kept.append(item)
        used += size
    return _json({"items": kept, "cut": 0})
