"""OTLP/HTTP logs (``POST /v1/logs``): decode an export request into entries, encode the answer.

Binary protobuf is parsed by protobuf's own (C) parser into an ``ExportLogsServiceRequest``;
JSON by msgspec into typed structures (``ingest/otlp_json.py``: ``json_format.ParseDict`` spent
~2 s of event loop on 330,000 empty records). Either way the records are counted before any is
converted (413 past TRACESINK_MAX_BATCH_ITEMS), and a record's values are converted under a
budget that a context of TRACESINK_MAX_CONTEXT_BYTES could hold, so that the work of a request
is bounded by what could be accepted. Every record then takes one path:

- ``traceId`` → ``trace_id`` (32 lowercase hex digits, as W3C ``traceparent`` spells it, so logs
  line up with traces); a record without one goes to the service's fallback trace
  (``TRACESINK_OTLP_FALLBACK_TRACE``), never dropped;
- severity number → level (TRACE/DEBUG → log, INFO → info, WARN → warn, ERROR/FATAL → error),
  else the severity text as any entry's level is read, else ``log``;
- body → message (a string as it is; anything else as JSON);
- attributes, resource attributes and the scope → ``context``; span id and event name too;
- the record's time (else its observed time) → ``timestamp``.

Pure functions: no I/O, no clock, no rate limits (those are the pipeline's).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from google.protobuf import json_format  # for the answer only
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tracesink.errors import ValidationError
from tracesink.ingest import otlp_count, otlp_json
from tracesink.ingest import otlp_values as values
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.trace_context import TRACE_ID
from tracesink.model import LEVEL_ALIASES, LOG_LEVELS

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# OTLP SeverityNumber ranges (1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR,
# 21-24 FATAL): the lowest number of each stored level.
SEVERITY_LEVELS = ((17, "error"), (13, "warn"), (9, "info"), (1, "log"))
UNKNOWN_SERVICE = "unknown_service"  # what the SDKs call a service that set no name
_NOT_IN_TRACE_ID = re.compile(r"[^A-Za-z0-9._:-]+")
_encode = msgspec.json.Encoder().encode
Export = ExportLogsServiceRequest | otlp_json.Export


@dataclass(frozen=True, slots=True)
class OtlpRecord:
    """One log record, ready for ``prepare_entry`` (or the error that refuses it), and the
    service that sent it."""

    entry: IncomingEntry | ValidationError
    service: str


def content_kind(content_type: str | None) -> str:
    """PROTOBUF or JSON from the request's Content-Type; 415-worthy ValidationError otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in (PROTOBUF, JSON):
        return media
    raise ValidationError(
        f"Content-Type must be {PROTOBUF} or {JSON} (OTLP/HTTP), got {content_type!r}",
        field="Content-Type",
        status=415,
    )


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body, decompressed to at most ``limit`` bytes (413 beyond: a gzip bomb stops at
    the cap, never expands in memory) or refused as malformed (400)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ValidationError("body is not valid gzip", field="body") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ValidationError(
            f"the body decompresses to more than {limit} bytes (TRACESINK_MAX_BODY_BYTES)",
            field="body",
            status=413,
        )
    if not inflater.eof:
        raise ValidationError("body is a truncated gzip stream", field="body")
    return data


def decode_request(body: bytes, kind: str, max_records: int) -> Export:
    """An export request in either encoding, its records counted before they are converted:
    413 past ``max_records`` (TRACESINK_MAX_BATCH_ITEMS), 400 naming the body when malformed."""
    if kind == JSON:
        return otlp_json.decode(body, max_records)
    otlp_count.check_counts(body, max_records)  # before the parser builds a message per record
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise ValidationError(f"body is not a valid OTLP protobuf: {exc}", "body") from None
    # Counted again as parsed (a body the walk could not read), without a step per record.
    scopes = records = 0
    for resource_logs in request.resource_logs[: max_records + 1]:
        scopes += len(resource_logs.scope_logs)
        if scopes > max_records:
            break
        records += sum(len(scope_logs.log_records) for scope_logs in resource_logs.scope_logs)
    if len(request.resource_logs) > max_records or scopes > max_records:
        raise otlp_count.too_many(f"more than {max_records} scopes of log records", max_records)
    if records > max_records:
        raise otlp_count.too_many(f"{records} log records", max_records)
    return request


def records(export: Export, fallback_trace: str, max_context_bytes: int) -> Iterator[OtlpRecord]:
    """Every log record of the request, as an entry to prepare, or the error that refuses it.

    ``fallback_trace`` is a template with ``{service}``: the trace of records without a trace id.
    Values are converted under a budget of ``max_context_bytes // 2`` for a record's attributes,
    its body, and its resource's attributes: a record whose values could not fit is refused
    unconverted.
    """
    if isinstance(export, otlp_json.Export):
        yield from _json_records(export, fallback_trace, max_context_bytes)
        return
    for resource_logs in export.resource_logs:
        resource: dict[str, Any] | ValidationError
        try:
            resource = values.attributes(
                resource_logs.resource.attributes,
                values.Budget(max_context_bytes, "resource attributes"),
                1,
            )
        except ValidationError as exc:
            resource = exc.with_traceback(None)
        service = _service(resource)
        fallback = fallback_trace_id(fallback_trace, service)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                yield OtlpRecord(
                    _pb_entry(record, resource, scope, fallback, max_context_bytes), service
                )


def _json_records(
    export: otlp_json.Export, fallback_trace: str, max_bytes: int
) -> Iterator[OtlpRecord]:
    for found, scopes in export.resources:
        resource: dict[str, Any] | ValidationError
        try:
            pairs = found.attributes if found is not None else ()
            resource = values.json_attributes(
                pairs, values.Budget(max_bytes, "resource attributes"), 1
            )
        except ValidationError as exc:
            resource = exc.with_traceback(None)
        service = _service(resource)
        fallback = fallback_trace_id(fallback_trace, service)
        for scope, log_records in scopes:
            for record in log_records:
                yield OtlpRecord(_json_entry(record, resource, scope, fallback, max_bytes), service)


def _service(resource: dict[str, Any] | ValidationError) -> str:
    found = resource.get("service.name") if isinstance(resource, dict) else None
    return str(found or UNKNOWN_SERVICE)


def fallback_trace_id(template: str, service: str) -> str:
    """The fallback trace of ``service``: the template filled with the service name, reduced to
    the characters a trace id may hold."""
    trace_id = _NOT_IN_TRACE_ID.sub("-", template.replace("{service}", service))[:128]
    return trace_id if TRACE_ID.fullmatch(trace_id) else "otlp"


def _pb_entry(
    record: LogRecord,
    resource: dict[str, Any] | ValidationError,
    scope: str,
    fallback: str,
    max_bytes: int,
) -> IncomingEntry | ValidationError:
    if isinstance(resource, ValidationError):
        return resource
    try:
        budget = values.Budget(max_bytes)
        pairs = record.attributes
        attributes = values.attributes(pairs, budget, 1) if pairs else None
        message = values.message(record.body, values.Budget(max_bytes, "body", "body"))
    except ValidationError as exc:
        return exc.with_traceback(None)  # kept: its traceback would keep this frame alive
    return _entry(
        message,
        record.trace_id,
        record.span_id,
        severity_level(record.severity_number, record.severity_text),
        attributes,
        resource,
        scope,
        record.event_name,
        record.time_unix_nano or record.observed_time_unix_nano,
        fallback,
    )


def _json_entry(
    record: otlp_json.LogRecord,
    resource: dict[str, Any] | ValidationError,
    scope: str,
    fallback: str,
    max_bytes: int,
) -> IncomingEntry | ValidationError:
    if isinstance(resource, ValidationError):
        return resource
    try:
        budget = values.Budget(max_bytes)
        pairs = record.attributes
        attributes = values.json_attributes(pairs, budget, 1) if pairs else None
        message = values.json_message(record.body, values.Budget(max_bytes, "body", "body"))
        nanos = otlp_json.integer(record.time_unix_nano, "timeUnixNano") or otlp_json.integer(
            record.observed_time_unix_nano, "observedTimeUnixNano"
        )
        level = severity_level(
            otlp_json.severity_number(record.severity_number), record.severity_text
        )
        trace_id, span_id = otlp_json.ids(record)  # checked by decode: never raises here
    except ValidationError as exc:
        return exc.with_traceback(None)  # kept: its traceback would keep this frame alive
    return _entry(
        message,
        trace_id,
        span_id,
        level,
        attributes,
        resource,
        scope,
        record.event_name,
        nanos,
        fallback,
    )


def _entry(  # the fields of a record, whichever encoding they came in
    message: str,
    trace_id: bytes,
    span_id: bytes,
    level: str,
    attributes: dict[str, Any] | None,
    resource: dict[str, Any],
    scope: str,
    event_name: str,
    nanos: int,
    fallback: str,
) -> IncomingEntry:
    context: dict[str, Any] = {}
    if attributes:
        context["attributes"] = attributes
    if resource:
        context["resource"] = resource
    if scope:
        context["scope"] = scope
    if any(span_id):
        context["span_id"] = span_id.hex()
    if event_name:
        context["event_name"] = event_name
    return IncomingEntry(
        message=message,
        trace_id=trace_id.hex() if any(trace_id) else fallback,
        level=level,
        context=msgspec.Raw(_encode(context)) if context else msgspec.Raw(b""),
        timestamp=nanos / 1_000_000 if nanos else None,
    )


def severity_level(number: int, text: str) -> str:
    """The stored level of an OTLP severity: by its number, else its text, else ``log``."""
    if number > 0:
        return next(level for lowest, level in SEVERITY_LEVELS if number >= lowest)
    named = text.strip().lower()
    named = LEVEL_ALIASES.get(named, named)
    return named if named in LOG_LEVELS else "log"


def encode_response(kind: str, rejected: int, message: str) -> bytes:
    """ExportLogsServiceResponse, with ``partial_success`` when anything was rejected."""
    response = ExportLogsServiceResponse()
    if rejected:
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        serialized: bytes = response.SerializeToString()
        return serialized
    return _encode(json_format.MessageToDict(response))


def encode_status(kind: str, code: int, message: str) -> bytes:
    """A ``google.rpc.Status`` (what OTLP/HTTP sends with every 4xx and 5xx): field 1 the gRPC
    code, field 2 the message. Written by hand: two fields do not justify another dependency."""
    if kind == JSON:
        return _encode({"code": code, "message": message})
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
