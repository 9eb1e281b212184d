"""Reads: ``GET /logs/{trace_id}``, ``GET /traces``, ``GET /health``, ``GET /stats``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tracesink import __version__
from tracesink.app.http import Request, Response, error_response, json_response
from tracesink.app.query import bounded_int
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.ingest.trace_context import TRACE_ID, TRACE_ID_RULE
from tracesink.limits import LIMIT_LEVELS
from tracesink.store.base import decode_items
from tracesink.times import iso_ms

MAX_TRACES_LISTED = 500
TRACE_PATH_PREFIX = "/logs/"


def _render_marker(marker: dict[str, Any]) -> dict[str, Any]:
    levels = ", ".join(f"{n} by the {level} quota" for level, n in marker["by"].items() if n)
    first, last = iso_ms(marker["first"]), iso_ms(marker["last"])
    marker["message"] = f"{marker['count']} entries dropped ({levels}) between {first} and {last}"
    marker["first"], marker["last"] = first, last
    return marker


async def get_trace(state: AppState, request: Request) -> Response:
    trace_id = request.path[len(TRACE_PATH_PREFIX) :]
    if not TRACE_ID.fullmatch(trace_id):
        raise ValidationError(TRACE_ID_RULE, field="trace_id")
    pipeline = state.pipeline
    record = await pipeline.store.read_trace(trace_id, pipeline.now_ms())
    if record is None:
        return error_response(404, f"no trace {trace_id}: never written, or expired", "trace_id")
    entries: list[dict[str, Any]] = []
    dropped = dict.fromkeys(LIMIT_LEVELS, 0)
    for item in decode_items(record.items):
        if item.get("kind") == "dropped":
            for level, n in item["by"].items():
                dropped[level] += n
            item = _render_marker(item)
        entries.append(item)
    content = {
        "trace_id": trace_id,
        "count": sum(1 for e in entries if "kind" not in e),
        "entries": entries,
        "expires_at": iso_ms(record.expires_at_ms) if record.expires_at_ms is not None else None,
        "dropped": {"total": sum(dropped.values()), **dropped},
    }
    return json_response(200, content)


async def get_traces(state: AppState, request: Request) -> Response:
    limit = bounded_int(request.query("limit"), "limit", 1, MAX_TRACES_LISTED, 50)
    pipeline = state.pipeline
    summaries = await pipeline.store.recent_traces(limit, pipeline.now_ms())
    traces = [
        {
            "trace_id": s.trace_id,
            "count": s.count,
            "systems": s.systems,
            "last_seen": iso_ms(s.last_seen_ms),
        }
        for s in summaries
    ]
    return json_response(200, {"traces": traces})


async def get_health(state: AppState, request: Request) -> Response:
    """ok: the store answers and nothing waits in the spool. degraded (still 200): entries are
    being accepted into the spool, or replayed from it. unavailable (503): no store, no spool."""
    status = state.pipeline.status()
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
    try:
        await state.pipeline.ping()
    except Exception as exc:  # any failure to reach the store is a status, never a 500
        spooling = status.spool is not None
        content.update(status="degraded" if spooling else "unavailable", error=type(exc).__name__)
    return json_response(503 if content["status"] == "unavailable" else 200, content)


async def get_stats(state: AppState, request: Request) -> Response:
    return json_response(200, state.pipeline.stats())
