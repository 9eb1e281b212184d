"""OTLP/HTTP logs (``POST /v1/logs``): decode an export request into entries, encode the answer.

Both encodings the specification defines are read into the same protobuf message (from the
``opentelemetry-proto`` package): binary protobuf as it is, and JSON by turning its hex trace and
span ids into the base64 that protobuf's own JSON mapping expects (the one place where OTLP/JSON
departs from it), then ``json_format.ParseDict``. Every record then takes one path:

- ``traceId`` → ``trace_id`` (32 lowercase hex digits, as W3C ``traceparent`` spells it, so logs
  line up with traces); a record without one goes to the service's fallback trace
  (``TRACESINK_OTLP_FALLBACK_TRACE``), never dropped;
- severity number → level (TRACE/DEBUG → log, INFO → info, WARN → warn, ERROR/FATAL → error),
  else the severity text as any entry's level is read, else ``log``;
- body → message (a string as it is; anything else as JSON);
- attributes, resource attributes and the scope → ``context``; span id and event name too;
- the record's time (else its observed time) → ``timestamp``.

Pure functions: no I/O, no clock, no limits (those are the pipeline's).
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tracesink.errors import ValidationError
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


@dataclass(frozen=True, slots=True)
class OtlpRecord:
    """One log record, ready for ``prepare_entry``, and the service that sent it."""

    entry: IncomingEntry
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


def decode_request(body: bytes, kind: str) -> ExportLogsServiceRequest:
    """An export request in either encoding; a 400 naming the body when it is malformed."""
    request = ExportLogsServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise ValidationError(f"body is not a valid OTLP protobuf: {exc}", "body") from None
        return request
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise ValidationError("body is not valid JSON", field="body") from None
    if not isinstance(document, dict):
        raise ValidationError("an OTLP/JSON body is an object with resourceLogs", "body")
    try:
        _ids_to_base64(document)
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise ValidationError(f"body is not a valid OTLP/JSON request: {exc}", "body") from None
    return request


def _ids_to_base64(document: dict[str, Any]) -> None:
    """OTLP/JSON spells trace and span ids in hex; protobuf's JSON mapping wants base64."""
    for resource_logs in _dicts(_field(document, "resourceLogs", "resource_logs")):
        for scope_logs in _dicts(_field(resource_logs, "scopeLogs", "scope_logs")):
            for record in _dicts(_field(scope_logs, "logRecords", "log_records")):
                for camel, snake in (("traceId", "trace_id"), ("spanId", "span_id")):
                    for key in (camel, snake):
                        value = record.get(key)
                        if isinstance(value, str) and value:
                            try:
                                raw = bytes.fromhex(value)
                            except ValueError:
                                raise ValueError(f"{camel} must be hex, got {value!r}") from None
                            record[key] = base64.b64encode(raw).decode()


def _field(document: Mapping[str, Any], camel: str, snake: str) -> Any:
    return document.get(camel, document.get(snake))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def records(request: ExportLogsServiceRequest, fallback_trace: str) -> Iterator[OtlpRecord]:
    """Every log record of the request, as an entry to prepare.

    ``fallback_trace`` is a template with ``{service}``: the trace of records without a trace id.
    """
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        service = str(resource.get("service.name") or UNKNOWN_SERVICE)
        fallback = fallback_trace_id(fallback_trace, service)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for record in scope_logs.log_records:
                yield OtlpRecord(_entry(record, resource, scope.name, fallback), service)


def fallback_trace_id(template: str, service: str) -> str:
    """The fallback trace of ``service``: the template filled with the service name, reduced to
    the characters a trace id may hold."""
    trace_id = _NOT_IN_TRACE_ID.sub("-", template.replace("{service}", service))[:128]
    return trace_id if TRACE_ID.fullmatch(trace_id) else "otlp"


def _entry(record: LogRecord, resource: dict[str, Any], scope: str, fallback: str) -> IncomingEntry:
    trace_id = record.trace_id.hex() if any(record.trace_id) else fallback
    context: dict[str, Any] = {}
    if record.attributes:
        context["attributes"] = _attributes(record.attributes)
    if resource:
        context["resource"] = resource
    if scope:
        context["scope"] = scope
    if any(record.span_id):
        context["span_id"] = record.span_id.hex()
    if record.event_name:
        context["event_name"] = record.event_name
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    return IncomingEntry(
        message=_message(record.body),
        trace_id=trace_id,
        level=severity_level(record.severity_number, record.severity_text),
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


def _message(body: AnyValue) -> str:
    if body.WhichOneof("value") == "string_value":
        return body.string_value
    value = _value(body)
    return "" if value is None else _encode(value).decode()


def _attributes(pairs: Any) -> dict[str, Any]:
    attributes: list[KeyValue] = list(pairs)
    return {pair.key: _value(pair.value) for pair in attributes}


def _value(value: AnyValue) -> Any:
    """An AnyValue as plain JSON data (bytes as base64, as OTLP/JSON spells them)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind)


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
