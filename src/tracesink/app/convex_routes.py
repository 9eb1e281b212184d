"""``POST /ingest/convex``: a Convex deployment's log stream (its webhook), signed by Convex.

The signature is the credential (HMAC-SHA256 of the raw body with
``TRACESINK_CONVEX_WEBHOOK_SECRET``), so the route needs no ingest key; without a secret it is off.
Parsing lives in ``ingest/convex.py``; limits and storing in the pipeline. A delivery that was
understood is answered 200 even when a limit refused some of its entries (a retry would be refused
too, and Convex would resend the whole batch); a store failure is a 503, so Convex retries, and
the events it carried are not remembered as stored.

An untagged event (a failed execution) joins the trace its request's tagged lines named
(``ingest/convex_requests.py``): the store remembers those links, so a failure that reaches
another instance than its lines still lands beside them. Both cost store commands (counted in the
daily budget like any other): a lookup only when a delivery holds untagged events it cannot place
itself, a link only when it stored tagged lines.
"""

from __future__ import annotations

from typing import Any

from tracesink.app.http import Request, Response, json_response
from tracesink.app.ingest_routes import limit_error
from tracesink.app.state import AppState
from tracesink.errors import AccessDenied, StorageError, ValidationError
from tracesink.ingest.convex import (
    CONVEX,
    SIGNATURE_HEADER,
    ConvexEntry,
    Delivery,
    parse_delivery,
    verify_signature,
)
from tracesink.ingest.convex_requests import placed, taught, unresolved
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import prepare_entry
from tracesink.model import PreparedEntry

_CONVEX_SENDER = Sender({"x-log-system": CONVEX})


async def post_convex(state: AppState, request: Request) -> Response:
    settings, pipeline = state.settings, state.pipeline
    secret = settings.convex_webhook_secret
    if secret is None:
        raise AccessDenied(
            "the Convex webhook is off: set TRACESINK_CONVEX_WEBHOOK_SECRET to the log stream's "
            "secret",
            "TRACESINK_CONVEX_WEBHOOK_SECRET",
            403,
        )
    body = await request.body(settings.max_body_bytes, state.deadlines)
    verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER))
    delivery = parse_delivery(body)
    now_ms = pipeline.now_ms()
    links = taught(delivery.entries)
    await _place(state, delivery, links, now_ms)
    fresh = state.convex_events.reserve(item.key for item in delivery.entries)
    rejected: list[dict[str, Any]] = []
    prepared: list[tuple[ConvexEntry, PreparedEntry]] = []
    for item, new in zip(delivery.entries, fresh, strict=True):
        if not new:
            continue
        try:
            prepared.append(
                (item, prepare_entry(item.entry, pipeline.rules, _CONVEX_SENDER, now_ms))
            )
        except ValidationError as exc:
            state.convex_events.release([item.key])
            rejected.append({"index": item.index, "reason": exc.message, "field": exc.field})
    if rejected:
        pipeline.refuse_invalid(CONVEX, len(rejected))
    try:
        submitted = await pipeline.submit([entry for _, entry in prepared]) if prepared else None
    except BaseException:
        state.convex_events.release(item.key for item, _ in prepared)
        raise
    decisions = submitted.decisions if submitted is not None else []
    stored: list[bytes] = []
    for (item, entry), decision in zip(prepared, decisions, strict=True):
        if decision.admitted:
            stored.append(item.key)
        else:
            state.convex_events.release([item.key])
            rejected.append(
                {
                    "index": item.index,
                    "reason": limit_error(decision, entry.trace_id, state),
                    "limited_by": decision.limited_by,
                }
            )
    state.convex_events.keep(stored)
    admitted = [item for (item, _), d in zip(prepared, decisions, strict=True) if d.admitted]
    await _link(state, taught(admitted), now_ms)
    rejected.sort(key=lambda r: int(r["index"]))
    content = {
        "success": True,
        "accepted": len(stored),
        "duplicates": fresh.count(False),
        "ignored": delivery.ignored,
        "rejected": rejected,
    }
    return json_response(200, content)


async def _place(state: AppState, delivery: Delivery, links: dict[str, str], now_ms: int) -> None:
    """Untagged events join their request's trace: known from this delivery, else the store's.
    A store that cannot answer leaves them under their request id (the write reports it)."""
    wanted = unresolved(delivery, links)
    if wanted and not state.pipeline.budget.exhausted(now_ms):
        try:
            links = {**await state.pipeline.store.traces_of_requests(wanted, now_ms), **links}
        except StorageError as exc:  # untagged events stay under their own request ids
            state.convex_map_errors.warn(exc)
    placed(delivery, links)


async def _link(state: AppState, links: dict[str, str], now_ms: int) -> None:
    """Keep the links of lines just stored, for the failures other instances will receive."""
    if not links or state.pipeline.budget.exhausted(now_ms):
        return
    try:
        await state.pipeline.store.link_requests(links, now_ms)
    except StorageError as exc:
        # The lines are stored: the delivery succeeded; a later failure may land apart.
        state.convex_map_errors.warn(exc)
