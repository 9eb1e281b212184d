"""``POST /v1/logs``: OTLP/HTTP logs, in protobuf or JSON, gzip or not.

Answers as the OTLP/HTTP specification says: 200 with ``partial_success`` when some records were
refused (by validation or a limit), 429 with Retry-After when every record was refused by a
limit, 400/413/415 with a ``google.rpc.Status`` body in the request's encoding when the request
itself is bad. Records join the same pipeline as every other route's entries.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracesink.app.auth import PINNED_SYSTEM
from tracesink.app.http import Request, Response
from tracesink.app.ratelimit_headers import retry_after_s
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.ingest import otlp
from tracesink.ingest.detect import system_label
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import prepare_entry
from tracesink.model import MANUAL, PreparedEntry

# gRPC status codes, as google.rpc.Status carries them
INVALID_ARGUMENT, RESOURCE_EXHAUSTED = 3, 8


async def post_otlp_logs(state: AppState, request: Request) -> Response:
    kind = otlp.content_kind(request.headers.get("content-type"))
    try:
        return await _export(state, request, kind)
    except ValidationError as exc:
        body = otlp.encode_status(kind, INVALID_ARGUMENT, exc.message)
        return Response(exc.status, body, [(b"content-type", kind.encode())])


async def _export(state: AppState, request: Request, kind: str) -> Response:
    pipeline, settings = state.pipeline, state.settings
    body = await request.body(settings.max_body_bytes, state.deadlines)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = otlp.gunzip(body, settings.max_body_bytes)
    elif encoding != "identity":
        raise ValidationError(
            f"Content-Encoding must be gzip or identity, got {encoding!r}",
            field="Content-Encoding",
            status=415,
        )
    # Counted before any record is converted: 413 past the batch cap (TRACESINK_MAX_BATCH_ITEMS).
    export = otlp.decode_request(body, kind, settings.max_batch_items)
    header_system = request.headers.get("x-log-system")
    label = None if header_system is None else system_label(header_system, "X-Log-System")
    senders: dict[str, Sender] = {}
    entries: list[PreparedEntry] = []
    invalid, first_error = 0, ""
    now_ms = pipeline.now_ms()
    records = otlp.records(export, settings.otlp_fallback_trace, settings.max_context_bytes)
    for record in records:
        sender = senders.get(record.service)
        if sender is None:
            sender = senders[record.service] = Sender(
                request.headers,
                _detected(label, record.service, settings.otlp_service_systems),
                pinned=request.scope.get(PINNED_SYSTEM),  # the ingest key's system, if it pins one
            )
        entry = record.entry
        if isinstance(entry, ValidationError):  # refused while decoding (its values' budget)
            invalid += 1
            first_error = first_error or f"{entry.field}: {entry.message}"
            continue
        try:
            entries.append(prepare_entry(entry, pipeline.rules, sender, now_ms))
        except ValidationError as exc:
            invalid += 1
            first_error = first_error or f"{exc.field}: {exc.message}"
    if invalid:
        pipeline.refuse_invalid(MANUAL, invalid)
    decisions = (await pipeline.submit(entries)).decisions if entries else []
    refused = [d for d in decisions if not d.admitted]
    headers = [(b"content-type", kind.encode())]
    if decisions and len(refused) == len(decisions) and not invalid:
        wait = max(retry_after_s(d) for d in refused)
        headers.append((b"retry-after", str(wait).encode()))
        message = f"every record was refused by the {refused[0].limited_by} limit"
        return Response(429, otlp.encode_status(kind, RESOURCE_EXHAUSTED, message), headers)
    reasons = [f"{invalid} invalid ({first_error})"] if invalid else []
    if refused:
        reasons.append(f"{len(refused)} refused by rate limits")
    body = otlp.encode_response(kind, invalid + len(refused), "; ".join(reasons))
    return Response(200, body, headers)


def _detected(label: str | None, service: str, mapped: Mapping[str, str]) -> tuple[str, str]:
    """X-Log-System, else the service's system from TRACESINK_OTLP_SERVICE_SYSTEMS, else manual."""
    if label is not None:
        return label, "x-log-system"
    if service in mapped:
        return mapped[service], "otlp-service"
    return MANUAL, "default"
