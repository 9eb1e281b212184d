"""OTLP/JSON export requests, decoded by msgspec into typed structures, counted before the rest.

protobuf's ``json_format.ParseDict`` builds a message per record in Python (~6 µs for an empty
one): 330,000 empty records compress to ~1 KB and cost ~2 s of event loop before anything could
count them. Here one msgspec pass (C) reads the request's skeleton, every record left as its raw
JSON (measured: 15 ms and 19 MB for 330,000 records in a 1 MB body); the records are counted,
and only when there are at most ``max_records`` is each decoded into its typed ``LogRecord``.
The record's values are converted to plain data later, under a budget (``otlp.records``).

The OTLP/JSON rules (the OTLP specification's "JSON Protobuf Encoding"): keys in lowerCamelCase
(unknown keys are ignored), trace and span ids in hex, 64-bit integers as numbers or strings,
enums as numbers (names are read too, as protobuf's own mapping does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from tracesink.errors import ValidationError
from tracesink.ingest.otlp_count import too_many
from tracesink.ingest.servable import surrogates_replaced

T = TypeVar("T")


class KeyValue(msgspec.Struct, frozen=True, gc=False):
    key: str = ""
    value: AnyValue | None = None


class ArrayValue(msgspec.Struct, frozen=True, gc=False):
    values: tuple[AnyValue, ...] = ()


class KeyValueList(msgspec.Struct, frozen=True, gc=False):
    values: tuple[KeyValue, ...] = ()


class AnyValue(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """A protobuf oneof: the first field set is the value (an empty one is no value)."""

    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | str | None = None
    double_value: float | str | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: str | None = None


class LogRecord(msgspec.Struct, rename="camel", frozen=True, gc=False):
    time_unix_nano: int | str = 0
    observed_time_unix_nano: int | str = 0
    severity_number: int | str = 0
    severity_text: str = ""
    body: AnyValue | None = None
    attributes: tuple[KeyValue, ...] = ()
    trace_id: str = ""
    span_id: str = ""
    event_name: str = ""


class Scope(msgspec.Struct, frozen=True, gc=False):
    name: str = ""


class Resource(msgspec.Struct, frozen=True, gc=False):
    attributes: tuple[KeyValue, ...] = ()


class ScopeLogs(msgspec.Struct, rename="camel", frozen=True, gc=False):
    scope: Scope | None = None
    log_records: tuple[msgspec.Raw, ...] = ()


class ResourceLogs(msgspec.Struct, rename="camel", frozen=True, gc=False):
    resource: Resource | None = None
    scope_logs: tuple[ScopeLogs, ...] = ()


class ExportRequest(msgspec.Struct, rename="camel", frozen=True, gc=False):
    resource_logs: tuple[ResourceLogs, ...] = ()


@dataclass(frozen=True, slots=True)
class Export:
    """A decoded request: per resource, per scope (its name), its records."""

    resources: list[tuple[Resource | None, list[tuple[str, list[LogRecord]]]]]


_decode_skeleton = msgspec.json.Decoder(ExportRequest).decode
_decode_record = msgspec.json.Decoder(LogRecord).decode


def decode(body: bytes, max_records: int) -> Export:
    """The request in ``body``; 413 past ``max_records`` records (counted before any record is
    decoded), 400 naming the place when it is malformed."""
    # A lone surrogate escape becomes U+FFFD here, as on every JSON route (ingest/servable.py).
    skeleton = _decoded(surrogates_replaced(body), _decode_skeleton, "")
    # Scopes are counted too (each as cheap to send as a record), without a step per record.
    scopes = sum(len(r.scope_logs) for r in skeleton.resource_logs[: max_records + 1])
    if len(skeleton.resource_logs) > max_records or scopes > max_records:
        raise too_many(f"more than {max_records} scopes of log records", max_records)
    count = sum(len(s.log_records) for r in skeleton.resource_logs for s in r.scope_logs)
    if count > max_records:
        raise too_many(f"{count} log records", max_records)
    resources = []
    for resource_logs in skeleton.resource_logs:
        in_resource: list[tuple[str, list[LogRecord]]] = []
        for scope_logs in resource_logs.scope_logs:
            name = scope_logs.scope.name if scope_logs.scope is not None else ""
            found = [
                _decoded(raw, _decode_record, "a log record: ") for raw in scope_logs.log_records
            ]
            for record in found:
                ids(record)  # a malformed id refuses the request, as protobuf's parser did
            in_resource.append((name, found))
        resources.append((resource_logs.resource, in_resource))
    return Export(resources)


def _decoded(raw: bytes | msgspec.Raw, decoder: Callable[..., T], where: str) -> T:
    try:
        return decoder(raw)
    except msgspec.ValidationError as exc:
        raise ValidationError(
            f"body is not a valid OTLP/JSON request: {where}{exc}", "body"
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise ValidationError("body is not valid JSON", field="body") from None
    except RecursionError:
        raise ValidationError("body is nested too deeply", field="body") from None


def ids(record: LogRecord) -> tuple[bytes, bytes]:
    """The record's trace and span ids as bytes (hex in OTLP/JSON); 400 when not hex."""
    found = []
    for name, text in (("traceId", record.trace_id), ("spanId", record.span_id)):
        try:
            found.append(bytes.fromhex(text))
        except ValueError:
            raise ValidationError(f"{name} must be hex, got {text[:64]!r}", field=name) from None
    return found[0], found[1]


def integer(value: int | str, name: str) -> int:
    """A 64-bit integer as OTLP/JSON spells it: a number or a string of digits."""
    if isinstance(value, int):
        return value
    if len(value) > 20 or not value.lstrip("-").isdigit():
        raise ValidationError(f"{name} must be an integer, got {value[:64]!r}", field=name)
    return int(value)


def double(value: float | str) -> float:
    """A double as OTLP/JSON spells it: a number, or a string ("NaN", "Infinity", "1.5")."""
    if isinstance(value, float | int):
        return float(value)
    try:
        if len(value) <= 64:  # float() of a long digit string is not linear
            return float(value)
    except ValueError:
        pass
    raise ValidationError(f"doubleValue must be a number, got {value[:64]!r}", "doubleValue")


def severity_number(value: int | str) -> int:
    """A SeverityNumber: a number, or its name (``SEVERITY_NUMBER_WARN``) as protobuf reads it."""
    if isinstance(value, int):
        return value
    try:
        return int(SeverityNumber.Value(value))
    except ValueError:
        return integer(value, "severityNumber")
