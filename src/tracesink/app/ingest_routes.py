"""``POST /log`` (one entry, the original plan's contract) and ``POST /logs`` (a batch).

Each route reads the body, prepares entries, hands them to the pipeline and answers with what it
decided; every business rule (limits, budget, accounting, outages) lives in the pipeline.
"""

from __future__ import annotations

from operator import attrgetter, itemgetter
from typing import Any

from tracesink.app.auth import PINNED_SYSTEM
from tracesink.app.http import Request, Response, json_response
from tracesink.app.ratelimit_headers import retry_after_s
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.ingest.batch import prepare_batch
from tracesink.ingest.clock import CLOCK_PARAM, client_clock
from tracesink.ingest.form import entry_from_form, is_form
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import decode_batch, decode_entry, prepare_entry
from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.rules import message  # the words the edge Worker answers with too
from tracesink.scope_keys import ARRIVED_MS

_ENTRY = itemgetter(1)
_ID = attrgetter("id")
_LIMITED_BY = attrgetter("limited_by")
_QUEUED = attrgetter("queued")
_UNKNOWN_SYSTEM = attrgetter("unknown_system")
QUEUED_NOTE = (
    "the store is unreachable: accepted entries are safely queued on disk and will be stored, "
    "in order, when it returns"
)


def limit_error(decision: Decision, trace_id: str, state: AppState) -> str:
    settings = state.settings
    if decision.limited_by == "budget":
        variable = settings.name_of("max_commands_per_day")
        return message("budget_spent", variable=variable, value=settings.max_commands_per_day)
    level, window_s = decision.limited_by, settings.window_s
    return message("quota", level=level, trace_id=trace_id, window_s=window_s)


def unknown_system_warning(entry: PreparedEntry) -> str:
    return message("unknown_system", system=entry.unknown_system)


def _sender(request: Request, now_ms: int) -> Sender:
    """The request's sender; its clock is read as of when the request began to arrive (the
    server stamps it; in-process, now), so time spent here before the route is not taken for
    clock error."""
    clock_ms = client_clock(request.headers, request.query(CLOCK_PARAM))
    if clock_ms is not None:
        arrived_ms = request.scope.get(ARRIVED_MS)
        if isinstance(arrived_ms, int) and arrived_ms <= now_ms:
            clock_ms += now_ms - arrived_ms
    return Sender(request.headers, pinned=request.scope.get(PINNED_SYSTEM), clock_ms=clock_ms)


async def post_log(state: AppState, request: Request) -> Response:
    pipeline = state.pipeline
    body = await request.body(state.settings.max_body_bytes, state.deadlines)
    now_ms = pipeline.now_ms()
    sender = _sender(request, now_ms)
    try:
        # logging.handlers.HTTPHandler sends its records form-encoded; everything else is JSON.
        incoming = (
            entry_from_form(body, pipeline.rules.max_message_bytes)
            if is_form(request.headers.get("content-type"), body)
            else decode_entry(body)
        )
        entry = prepare_entry(incoming, pipeline.rules, sender, now_ms)
    except ValidationError:
        pipeline.refuse_invalid(sender.system)
        raise
    submitted = await pipeline.submit([entry])
    [decision] = submitted.decisions
    headers = state.ratelimit_headers.for_decision(entry.system, decision, submitted.decided_ms)
    if not decision.admitted:
        content: dict[str, Any] = {
            "success": False,
            "trace_id": entry.trace_id,
            "error": limit_error(decision, entry.trace_id, state),
            "remaining_quota": 0,
            "limited_by": decision.limited_by,
        }
        return json_response(429, content, headers)
    content = {
        "success": True,
        "trace_id": entry.trace_id,
        "id": entry.id,
        "remaining_quota": decision.remaining_quota,
    }
    if entry.unknown_system is not None:
        content["warnings"] = [unknown_system_warning(entry)]
    if decision.queued:
        content.update(queued=True, note=QUEUED_NOTE)
        return json_response(202, content, headers)
    return json_response(200, content, headers)


async def post_logs(state: AppState, request: Request) -> Response:
    pipeline, settings = state.pipeline, state.settings
    body = await request.body(settings.max_body_bytes, state.deadlines)
    now_ms = pipeline.now_ms()
    sender = _sender(request, now_ms)
    items = decode_batch(body, settings.max_batch_items)  # 413 beyond the count, before decoding
    # Each entry prepared, or refused with the item of the reply that says why (ingest/batch.py).
    prepared, rejected = prepare_batch(items, pipeline.rules, sender, now_ms)
    if rejected:
        pipeline.refuse_invalid(sender.system, len(rejected))
    entries = list(map(_ENTRY, prepared))
    submitted = await pipeline.submit(entries) if entries else None
    decisions = submitted.decisions if submitted is not None else []
    accepted, ids, longest_wait, queued = 0, [], 0, False
    warnings: list[dict[str, Any]] = []
    if not any(map(_LIMITED_BY, decisions)) and not any(map(_UNKNOWN_SYSTEM, entries)):
        # The usual batch: all admitted, no warning. Its ids and counts in C loops, not a
        # Python step per entry (issue 27).
        ids = list(map(_ID, entries))
        accepted, queued = len(ids), any(map(_QUEUED, decisions))
    else:
        for (index, entry), decision in zip(prepared, decisions, strict=True):
            if decision.limited_by is None:  # admitted
                accepted += 1
                ids.append(entry.id)
                queued = queued or decision.queued
                if entry.unknown_system is not None:
                    warnings.append({"index": index, "warning": unknown_system_warning(entry)})
                continue
            longest_wait = max(longest_wait, retry_after_s(decision))
            rejected.append(
                {
                    "index": index,
                    "reason": limit_error(decision, entry.trace_id, state),
                    "retryable": True,
                    "limited_by": decision.limited_by,
                    "retry_after": retry_after_s(decision),
                }
            )
    rejected.sort(key=lambda item: int(item["index"]))
    if queued:
        status = 202
    elif accepted or not rejected:
        status = 200
    elif longest_wait:
        status = 429  # nothing stored and some of it may be retried later: back off
    else:
        status = 400
    # success says what the status says: something (or everything) was kept; `rejected` lists
    # what was not.
    content: dict[str, Any] = {
        "success": status < 300,
        "accepted": accepted,
        "ids": ids,
        "rejected": rejected,
    }
    if warnings:
        content["warnings"] = warnings
    if queued:
        content.update(queued=True, note=QUEUED_NOTE)
    headers = []
    if submitted is not None:
        # The RateLimit headers say where the quotas stand after the batch: the last decision's.
        last = prepared[-1][1]
        headers = state.ratelimit_headers.for_decision(
            last.system, decisions[-1], submitted.decided_ms
        )
        headers = [h for h in headers if h[0] != b"retry-after"]
    if status == 429:
        headers.append((b"retry-after", str(longest_wait).encode()))
    return json_response(status, content, headers)
