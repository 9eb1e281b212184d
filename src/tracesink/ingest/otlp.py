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

import base64
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from google.protobuf import json_format  # for the answer only
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tracesink.errors import ValidationError
from tracesink.ingest import otlp_json
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


MAX_VALUE_DEPTH = 32  # far past TRACESINK_MAX_CONTEXT_DEPTH, far below Python's recursion limit
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
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)  # C (upb): 330,000 empty records in 22 ms
    except DecodeError as exc:
        raise ValidationError(f"body is not a valid OTLP protobuf: {exc}", "body") from None
    # Counted without a Python step per record; scopes too, as cheap to send as records.
    scopes = records = 0
    for resource_logs in request.resource_logs[: max_records + 1]:
        scopes += len(resource_logs.scope_logs)
        if scopes > max_records:
            break
        records += sum(len(scope_logs.log_records) for scope_logs in resource_logs.scope_logs)
    if len(request.resource_logs) > max_records or scopes > max_records:
        raise otlp_json.too_many_records(f"more than {max_records} scopes of", max_records)
    if records > max_records:
        raise otlp_json.too_many_records(records, max_records)
    return request


class _Budget:
    """How many more values (attributes, array items, map entries) one part of a record may
    convert: JSON holds at most one value per two bytes, so past ``max_bytes / 2`` the part
    could not be stored (attributes: the context's cap) or shown (the body: the message's), and
    the record is refused unconverted."""

    __slots__ = ("field", "left", "max_bytes")

    def __init__(self, max_bytes: int, field: str = "context") -> None:
        self.field, self.max_bytes = field, max_bytes
        self.left = max(max_bytes // 2, 1)

    def spend(self, count: int, depth: int) -> None:
        self.left -= count
        if self.left < 0:
            what = "attributes" if self.field == "context" else self.field
            raise ValidationError(
                f"the {what} hold more values than {self.max_bytes} bytes of JSON can "
                f"(TRACESINK_MAX_CONTEXT_BYTES): one per two bytes at most",
                field=self.field,
            )
        if depth > MAX_VALUE_DEPTH:
            raise ValidationError(
                f"a value is nested more than {MAX_VALUE_DEPTH} levels deep", field=self.field
            )


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
            resource = _attributes(resource_logs.resource.attributes, _Budget(max_context_bytes), 1)
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
            resource = _json_attributes(pairs, _Budget(max_bytes), 1)
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
        budget = _Budget(max_bytes)
        attributes = _attributes(record.attributes, budget, 1) if record.attributes else None
        message = _message(record.body, _Budget(max_bytes, "body"))
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
        budget = _Budget(max_bytes)
        attributes = _json_attributes(record.attributes, budget, 1) if record.attributes else None
        body = record.body
        if body is not None and body.string_value is not None:
            message = body.string_value
        else:
            value = None if body is None else _json_value(body, _Budget(max_bytes, "body"), 1)
            message = "" if value is None else _encode(value).decode()
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


def _message(body: AnyValue, budget: _Budget) -> str:
    if body.WhichOneof("value") == "string_value":
        return body.string_value
    value = _value(body, budget, 1)
    return "" if value is None else _encode(value).decode()


def _attributes(pairs: Any, budget: _Budget, depth: int) -> dict[str, Any]:
    budget.spend(len(pairs), depth)  # before a single pair is read
    attributes: list[KeyValue] = list(pairs)
    return {pair.key: _value(pair.value, budget, depth + 1) for pair in attributes}


def _value(value: AnyValue, budget: _Budget, depth: int) -> Any:
    """An AnyValue as plain JSON data (bytes as base64, as OTLP/JSON spells them)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        items = value.array_value.values
        budget.spend(len(items), depth)
        return [_value(item, budget, depth + 1) for item in items]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values, budget, depth)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


def _json_attributes(
    pairs: Sequence[otlp_json.KeyValue], budget: _Budget, depth: int
) -> dict[str, Any]:
    budget.spend(len(pairs), depth)
    return {
        pair.key: None if pair.value is None else _json_value(pair.value, budget, depth + 1)
        for pair in pairs
    }


def _json_value(value: otlp_json.AnyValue, budget: _Budget, depth: int) -> Any:
    """An OTLP/JSON AnyValue as plain JSON data: what ``_value`` makes of the same protobuf."""
    if value.string_value is not None:
        return value.string_value
    if value.bool_value is not None:
        return value.bool_value
    if value.int_value is not None:
        return otlp_json.integer(value.int_value, "intValue")
    if value.double_value is not None:
        return otlp_json.double(value.double_value)  # non-finite: encoded as null
    if value.array_value is not None:
        items = value.array_value.values
        budget.spend(len(items), depth)
        return [_json_value(item, budget, depth + 1) for item in items]
    if value.kvlist_value is not None:
        return _json_attributes(value.kvlist_value.values, budget, depth)
    return value.bytes_value  # base64 already, as `_value` spells bytes


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
