"""Reads: ``GET /logs/{trace_id}``, ``GET /traces``, ``GET /health``, ``GET /stats``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tracesink import __version__
from tracesink.app.http import Request, Response, error_response, json_response
from tracesink.app.pin_stats import pin_stats
from tracesink.app.query import bounded_int
from tracesink.app.read_query import entry_filter, order_of, trace_filter
from tracesink.app.state import AppState
from tracesink.app.trace_formats import (
    MARKDOWN,
    NDJSON,
    markdown_response,
    ndjson_response,
    trace_format,
)
from tracesink.app.trace_markdown import trace_markdown
from tracesink.errors import ValidationError
from tracesink.ingest.trace_context import TRACE_ID, TRACE_ID_RULE
from tracesink.limits import LIMIT_LEVELS
from tracesink.read_order import in_order
from tracesink.store.items import decode_items, is_entry
from tracesink.times import iso_ms

MAX_TRACES_LISTED = 500
FILTERED_SCAN = 5  # a filtered list looks at this many times `limit` recent traces
TRACE_PATH_PREFIX = "/logs/"


def _render_marker(marker: dict[str, Any]) -> dict[str, Any]:
    levels = ", ".join(f"{n} by the {level} quota" for level, n in marker["by"].items() if n)
    first, last = iso_ms(marker["first"]), iso_ms(marker["last"])
    marker["message"] = f"{marker['count']} entries dropped ({levels}) between {first} and {last}"
    marker["first"], marker["last"] = first, last
    return marker


def _render_trimmed(marker: dict[str, Any]) -> dict[str, Any]:
    marker["message"] = (
        f"{marker['count']} older items trimmed: the trace outgrew TRACESINK_MAX_TRACE_ENTRIES"
    )
    return marker


RENDER = {"dropped": _render_marker, "trimmed": _render_trimmed}


def trace_id_of(path: str) -> str:
    trace_id = path[len(TRACE_PATH_PREFIX) :]
    if not TRACE_ID.fullmatch(trace_id):
        raise ValidationError(TRACE_ID_RULE, field="trace_id")
    return trace_id


async def get_trace(state: AppState, request: Request) -> Response:
    """The trace, filtered by ``level``, ``system``, ``q`` and ``since`` (read_query.py), by
    event time unless ``order=arrival`` (read_order.py); ``resolve=1`` adds each stack's frames
    through its release's source maps.

    ``count`` is what was returned, ``total`` what the trace holds; ``last_id`` is its newest
    entry's id (by arrival), the cursor for the next ``since`` even when the filter matched
    nothing. ``?format=`` or ``Accept`` asks for NDJSON or Markdown instead (trace_formats.py);
    NDJSON, the export, keeps arrival order (as stored, so an import stores it so) unless
    ``order`` is given."""
    trace_id = trace_id_of(request.path)
    wanted = entry_filter(request)
    order = order_of(request)
    shape = trace_format(request)
    pipeline = state.pipeline
    record = await pipeline.store.read_trace(trace_id, pipeline.now_ms())
    if record is None:
        return error_response(404, f"no trace {trace_id}: never written, or expired", "trace_id")
    items = decode_items(record.items)
    dropped = dict.fromkeys(LIMIT_LEVELS, 0)
    total, last_id, trimmed = 0, None, 0
    for item in items:
        if item.get("kind") == "dropped":
            for level, n in item["by"].items():
                if level in dropped:  # (a marker another version wrote may name others)
                    dropped[level] += n
        elif item.get("kind") == "trimmed":
            trimmed += item["count"]
        elif is_entry(item):  # a placeholder for an undecodable item is shown, not counted
            total += 1
            last_id = max(last_id or "", str(item.get("id", ""))) or None
    kept = wanted.apply(items)
    if shape == NDJSON:  # the export: items as stored, markers unrendered (ms, no message)
        return ndjson_response(in_order(kept, order if request.query("order") else "arrival"))
    entries = [
        RENDER[item["kind"]](item) if item.get("kind") in RENDER else item
        for item in in_order(kept, order)
    ]
    if request.query("resolve") in ("1", "true"):
        # Source maps applied on read (sourcemaps/resolve.py); the raw stack stays.
        await state.sourcemaps.resolver.resolve_entries(entries)
    content = {
        "trace_id": trace_id,
        "count": sum(1 for e in entries if "kind" not in e),
        "total": total,
        "last_id": last_id,
        "order": order,
        "entries": entries,
        "expires_at": iso_ms(record.expires_at_ms) if record.expires_at_ms is not None else None,
        "dropped": {"total": sum(dropped.values()), **dropped},
        "trimmed": trimmed,  # the oldest items gone: the list outgrew its cap
        "pinned_until": iso_ms(record.pinned_until_ms) if record.pinned_until_ms else None,
    }
    if shape == MARKDOWN:
        return markdown_response(trace_markdown(content))
    return json_response(200, content)


async def get_traces(state: AppState, request: Request) -> Response:
    """Recent traces, newest first, filtered by ``level`` (has an entry at least this severe),
    ``system`` and ``since``; a filter looks at the ``FILTERED_SCAN`` x ``limit`` most recent."""
    limit = bounded_int(request.query("limit"), "limit", 1, MAX_TRACES_LISTED, 50)
    wanted = trace_filter(request)
    unfiltered = wanted == type(wanted)()
    scan = limit if unfiltered else min(MAX_TRACES_LISTED, limit * FILTERED_SCAN)
    pipeline = state.pipeline
    summaries = await pipeline.store.recent_traces(scan, pipeline.now_ms())
    traces = [
        {
            "trace_id": s.trace_id,
            "count": s.count,
            "systems": s.systems,
            "levels": s.levels,
            "last_id": s.last_id,
            "last_seen": iso_ms(s.last_seen_ms),
            "preview": s.preview,
            # Only on a pinned trace: listed after its hour, until the pin ends.
            **({"pinned_until": iso_ms(s.pinned_until_ms)} if s.pinned_until_ms else {}),
        }
        for s in summaries
        if wanted.matches(s)
    ][:limit]
    return json_response(200, {"traces": traces})


async def get_health(state: AppState, request: Request) -> Response:
    """ok: the store answers and nothing waits in the spool. degraded (still 200): entries are
    being accepted into the spool, or replayed from it. unavailable (503): no store, no spool.

    Public, so it costs no command per caller: the store's state is the latest probe's. The
    queue and the spool are the whole instance's (every worker's, under ``--workers N``)."""
    status = state.pipeline.instance_status()
    content: dict[str, Any] = {
        "version": __version__,
        "store": status.store,
        "queued": status.queued,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "ok",
    }
    if status.spool is not None:
        content["spool"] = {"entries": status.spool.entries, "bytes": status.spool.bytes}
        if status.spool.entries:
            content["status"] = "degraded"
    # The latest probe's answer: one command per interval however many ask (store_probe.py).
    error = await state.pipeline.probe_store()
    if error is not None:
        spooling = status.spool is not None
        content.update(status="degraded" if spooling else "unavailable", error=error)
    return json_response(503 if content["status"] == "unavailable" else 200, content)


async def get_stats(state: AppState, request: Request) -> Response:
    pins = await pin_stats(state)  # from the store (one HGETALL), first: the usage counts it
    return json_response(200, {**state.pipeline.stats(), "pins": pins})
