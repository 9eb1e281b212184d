"""``POST /log`` (one entry, the original plan's contract) and ``POST /logs`` (a batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracesink.app.auth import PINNED_SYSTEM
from tracesink.app.http import Request, Response, json_response
from tracesink.app.ratelimit_headers import retry_after_s
from tracesink.app.services import Services
from tracesink.errors import Overloaded, StorageError, ValidationError
from tracesink.ingest.detect import detect_from_headers
from tracesink.ingest.model import PreparedEntry
from tracesink.ingest.validate import decode_batch, decode_entry, prepare_entry
from tracesink.limits import Decision, window_of

QUEUED_NOTE = (
    "the store is unreachable: accepted entries are safely queued on disk and will be stored, "
    "in order, when it returns"
)


def limit_error(decision: Decision, trace_id: str, services: Services) -> str:
    if decision.limited_by == "budget":
        return (
            "the daily store budget is spent (TRACESINK_MAX_COMMANDS_PER_DAY="
            f"{services.settings.max_commands_per_day}); ingest resumes at 00:00 UTC"
        )
    window_s = services.settings.window_s
    return f"{decision.limited_by} quota exceeded for trace {trace_id} (per {window_s}s window)"


async def store_entries(
    services: Services, entries: Sequence[PreparedEntry], now_ms: int
) -> list[Decision]:
    """Decide and store entries (or refuse them all when the daily budget is spent), counting
    every outcome by system and reason."""
    telemetry = services.telemetry
    if services.budget.exhausted(now_ms):
        wait_ms = services.budget.seconds_to_reset(now_ms) * 1000
        decisions = [Decision("budget", {}, wait_ms) for _ in entries]
    else:
        try:
            decisions = await services.writer.submit(entries)
        except Overloaded:
            for entry in entries:
                telemetry.record_refused(entry.system, "overloaded")
            raise
        except StorageError:
            for entry in entries:
                telemetry.record_refused(entry.system, "store_unavailable")
            raise
    telemetry.record_decisions(entries, decisions)
    return decisions


async def post_log(services: Services, request: Request) -> Response:
    body = await request.body(services.settings.max_body_bytes, services.deadlines)
    detected = detect_from_headers(request.headers)
    now_ms = services.now_ms()
    try:
        entry = prepare_entry(
            decode_entry(body), services.rules, detected, now_ms, request.scope.get(PINNED_SYSTEM)
        )
    except ValidationError:
        services.telemetry.record_refused(detected[0], "invalid")
        raise
    [decision] = await store_entries(services, [entry], now_ms)
    headers = _headers(services, entry, decision, now_ms)
    if decision.admitted:
        content = {
            "success": True,
            "trace_id": entry.trace_id,
            "id": entry.id,
            "remaining_quota": decision.remaining_quota,
        }
        if decision.queued:
            content.update(queued=True, note=QUEUED_NOTE)
            return json_response(202, content, headers)
        return json_response(200, content, headers)
    content = {
        "success": False,
        "trace_id": entry.trace_id,
        "error": limit_error(decision, entry.trace_id, services),
        "remaining_quota": 0,
        "limited_by": decision.limited_by,
    }
    return json_response(429, content, headers)


async def post_logs(services: Services, request: Request) -> Response:
    settings = services.settings
    body = await request.body(settings.max_body_bytes, services.deadlines)
    detected = detect_from_headers(request.headers)
    items = decode_batch(body, settings.max_batch_items)  # 413 beyond the count, before decoding
    now_ms = services.now_ms()
    pinned = request.scope.get(PINNED_SYSTEM)
    rejected: list[dict[str, Any]] = []
    prepared: list[tuple[int, PreparedEntry]] = []
    for index, item in enumerate(items):
        # Only an error's text outlives its `except`: a caught error holds a traceback to this
        # frame, which holds the body and every item, a cycle the tuned collector keeps for ever.
        if isinstance(item, ValidationError):
            reason, field = item.message, item.field
        else:
            try:
                entry = prepare_entry(item, services.rules, detected, now_ms, pinned)
                prepared.append((index, entry))
                continue
            except ValidationError as exc:
                reason, field = exc.message, exc.field
        services.telemetry.record_refused(detected[0], "invalid")
        rejected.append({"index": index, "reason": reason, "field": field, "retryable": False})
    entries = [entry for _, entry in prepared]
    decisions = await store_entries(services, entries, now_ms) if entries else []
    accepted, ids, longest_wait, queued = 0, [], 0, False
    # The RateLimit headers say where the quotas stand after the batch: the last decision's.
    headers = _headers(services, prepared[-1][1], decisions[-1], now_ms) if prepared else []
    for (index, entry), decision in zip(prepared, decisions, strict=True):
        if decision.admitted:
            accepted += 1
            ids.append(entry.id)
            queued = queued or decision.queued
            continue
        longest_wait = max(longest_wait, retry_after_s(decision))
        rejected.append(
            {
                "index": index,
                "reason": limit_error(decision, entry.trace_id, services),
                "retryable": True,
                "limited_by": decision.limited_by,
                "retry_after": retry_after_s(decision),
            }
        )
    rejected.sort(key=lambda item: int(item["index"]))
    content = {"success": not rejected, "accepted": accepted, "ids": ids, "rejected": rejected}
    if queued:
        content.update(queued=True, note=QUEUED_NOTE)
        status = 202
    elif accepted or not rejected:
        status = 200
    elif longest_wait:
        status = (
            429  # nothing stored and some of it may be retried later: the client should back off
        )
    else:
        status = 400
    headers = [h for h in headers if h[0] != b"retry-after"]
    if status == 429:
        headers.append((b"retry-after", str(longest_wait).encode()))
    return json_response(status, content, headers)


def _headers(
    services: Services, entry: PreparedEntry, decision: Decision, now_ms: int
) -> list[tuple[bytes, bytes]]:
    _, elapsed = window_of(now_ms, services.policy.window_ms)
    return services.ratelimit_headers.for_decision(entry.system, decision, elapsed)
