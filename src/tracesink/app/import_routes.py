"""``PUT /logs/{trace_id}``: import an exported trace (docs/reading.md, "Export and import").

An import is not ingest. It is guarded like the read routes (the read token, never an ingest
key: whoever may import may read it back); it skips the pipeline, so no rate-limit window counts
it and no drop is recorded, but the daily budget counts its store commands and refuses it as it
refuses reads, once all of it is spent (``BudgetedStore``); it is bounded (a body of
``IMPORT_BODY_FACTOR`` x ``TRACESINK_MAX_BODY_BYTES``, at most ``TRACESINK_MAX_TRACE_ENTRIES``
items); every item is validated as ingest would validate it (``ingest/imported.py``); and it is
written in one atomic store step (``Store.import_trace``).

A trace that exists is left alone (409) unless ``?replace=true``: then the import replaces it
whole. Never a merge: the export is the trace as it was, and interleaving two stories by id would
make drop markers sit in the wrong gaps.
"""

from __future__ import annotations

from tracesink.app.http import Request, Response, error_response, json_response
from tracesink.app.read_routes import trace_id_of
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.ingest.imported import imported_items

IMPORT_BODY_FACTOR = 16  # an export of a full trace is many request bodies' worth
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def import_limit(max_body_bytes: int) -> int:
    return IMPORT_BODY_FACTOR * max_body_bytes


def _replace(request: Request) -> bool:
    given = request.query("replace")
    if given is None or given.lower() in _FALSE:
        return False
    if given.lower() in _TRUE:
        return True
    raise ValidationError("replace must be true or false", field="replace")


async def put_trace(state: AppState, request: Request) -> Response:
    trace_id = trace_id_of(request.path)
    replace = _replace(request)
    pipeline, settings = state.pipeline, state.settings
    now_ms = pipeline.now_ms()
    limit = import_limit(settings.max_body_bytes)
    try:
        body = await request.body(limit, state.deadlines)
    except ValidationError as exc:
        if exc.status != 413:
            raise
        raise ValidationError(
            f"an import is at most {limit} bytes ({IMPORT_BODY_FACTOR} x "
            f"{settings.name_of('max_body_bytes')})",
            "body",
            413,
        ) from None
    imported = imported_items(
        body, trace_id, pipeline.rules, pipeline.policy.max_trace_entries, now_ms
    )
    if not await pipeline.store.import_trace(trace_id, imported.items, now_ms, replace):
        return error_response(
            409,
            f"trace {trace_id} exists here: import it with ?replace=true (tracesink import "
            "--replace) to replace it, or under another id (--trace)",
            "trace_id",
        )
    return json_response(
        200,
        {
            "success": True,
            "trace_id": trace_id,
            "entries": imported.entries,
            "markers": imported.markers,
            "skipped_undecodable": imported.skipped,
        },
    )
