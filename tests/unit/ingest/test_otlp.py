"""OTLP decoding as pure functions: severities, fallback traces, gzip caps, Status encoding; the
two encodings read alike, records counted before they are converted, values within a budget."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import time
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from tracesink.errors import ValidationError
from tracesink.ingest import otlp
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.otlp_values import MAX_VALUE_DEPTH


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [
        (1, "", "log"),
        (8, "", "log"),
        (9, "", "info"),
        (13, "", "warn"),
        (17, "", "error"),
        (24, "", "error"),
        (0, "WARNING", "warn"),
        (0, "Critical", "error"),
        (0, "nonsense", "log"),
        (0, "", "log"),
        (9, "ERROR", "info"),  # the number wins over the text
    ],
)
def test_severity_maps_by_number_else_text_else_log(number: int, text: str, level: str) -> None:
    assert otlp.severity_level(number, text) == level


def test_the_fallback_trace_is_a_valid_trace_id_per_service() -> None:
    assert otlp.fallback_trace_id("otlp-{service}", "billing") == "otlp-billing"
    assert otlp.fallback_trace_id("otlp-{service}", "my svc/π") == "otlp-my-svc-"
    assert len(otlp.fallback_trace_id("{service}", "x" * 500)) == 128


def test_gunzip_keeps_within_the_cap_and_refuses_beyond_it() -> None:
    data = b"a" * 1000
    assert otlp.gunzip(gzip.compress(data), 1000) == data
    with pytest.raises(ValidationError) as caught:
        otlp.gunzip(gzip.compress(data), 999)
    assert (caught.value.status, caught.value.field) == (413, "body")
    assert "more than 999 bytes (TRACESINK_MAX_BODY_BYTES)" in caught.value.message
    with pytest.raises(ValidationError) as truncated:
        otlp.gunzip(gzip.compress(data)[:-10], 1000)
    assert (truncated.value.status, truncated.value.field) == (400, "body")
    assert "truncated gzip" in truncated.value.message


def test_status_is_encoded_as_protobuf_fields_one_and_two() -> None:
    """google.rpc.Status by hand: varint code, length-delimited message (a 300-byte message
    needs a two-byte length)."""
    assert otlp.encode_status(otlp.PROTOBUF, 3, "bad") == b"\x08\x03\x12\x03bad"
    long = otlp.encode_status(otlp.PROTOBUF, 8, "x" * 300)
    assert long[:5] == b"\x08\x08\x12\xac\x02"
    assert otlp.encode_status(otlp.JSON, 3, "bad") == b'{"code":3,"message":"bad"}'


def test_records_of_several_resources_carry_their_service() -> None:
    request = ExportLogsServiceRequest()
    for service in ("a", "b"):
        resource_logs = request.resource_logs.add()
        attribute = resource_logs.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", service
        resource_logs.scope_logs.add().log_records.add().body.string_value = f"from {service}"
    found = list(otlp.records(request, "otlp-{service}", 16384))
    entries = [r.entry for r in found if isinstance(r.entry, IncomingEntry)]
    assert [(r.service, e.trace_id, e.message) for r, e in zip(found, entries, strict=True)] == [
        ("a", "otlp-a", "from a"),
        ("b", "otlp-b", "from b"),
    ]


def test_json_ids_must_be_hex() -> None:
    body = b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"not-hex"}]}]}]}'
    with pytest.raises(ValidationError) as caught:
        otlp.decode_request(body, otlp.JSON, 1000)
    assert "spanId must be hex" in caught.value.message


def rich_request() -> ExportLogsServiceRequest:
    """Two resources, every kind of value (nested arrays and maps, bytes, doubles), ids, times,
    severities and an event name: what both encodings must read alike."""
    request = ExportLogsServiceRequest()
    for service in ("checkout", "billing"):
        resource_logs = request.resource_logs.add()
        attribute = resource_logs.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", service
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = f"{service}.scope"
        record = scope_logs.log_records.add()
        record.time_unix_nano = 1_795_946_400_123_000_000
        record.severity_number = SeverityNumber.SEVERITY_NUMBER_WARN
        record.severity_text = "WARN"
        record.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
        record.span_id = bytes.fromhex("eee19b7ec3c1b174")
        record.event_name = "charge"
        record.body.kvlist_value.values.add(key="k").value.int_value = 7
        values = record.attributes
        values.add(key="s").value.string_value = "text"
        values.add(key="i").value.int_value = -(2**62)
        values.add(key="d").value.double_value = 1.5
        values.add(key="b").value.bool_value = True
        values.add(key="raw").value.bytes_value = b"\x00\xff"
        values.add(key="empty")
        array = values.add(key="list").value.array_value.values
        array.add().string_value = "a"
        array.add().kvlist_value.values.add(key="deep").value.double_value = 2.0
        other = scope_logs.log_records.add()
        other.observed_time_unix_nano = 1_795_946_400_000_000_000
        other.body.string_value = "plain"
        other.severity_text = "Critical"
    return request


def as_otlp_json(request: ExportLogsServiceRequest, integer_enums: bool) -> bytes:
    """The request in OTLP/JSON: protobuf's JSON mapping with hex trace and span ids."""
    document = json_format.MessageToDict(request, use_integers_for_enums=integer_enums)
    for resource_logs in document["resourceLogs"]:
        for scope_logs in resource_logs["scopeLogs"]:
            for record in scope_logs["logRecords"]:
                for key in ("traceId", "spanId"):
                    if key in record:
                        record[key] = base64.b64decode(record[key]).hex()
    return json.dumps(document).encode()


def read(body: bytes, kind: str, max_context_bytes: int = 16384) -> list[otlp.OtlpRecord]:
    export = otlp.decode_request(body, kind, 1000)
    return list(otlp.records(export, "otlp-{service}", max_context_bytes))


@pytest.mark.parametrize("integer_enums", [True, False])
def test_json_reads_as_the_same_entries_as_protobuf(integer_enums: bool) -> None:
    """The same request in protobuf and in OTLP/JSON (severities as numbers or as names) gives
    the same entries, context bytes included."""
    request = rich_request()
    binary = read(request.SerializeToString(), otlp.PROTOBUF)
    text = read(as_otlp_json(request, integer_enums), otlp.JSON)
    assert len(binary) == 4
    assert binary == text
    entry = binary[0].entry
    assert isinstance(entry, IncomingEntry)
    assert (entry.message, entry.level, entry.trace_id) == (
        '{"k":7}',
        "warn",
        "5b8efff798038103d269b633813fc60c",
    )
    context = json.loads(bytes(entry.context))
    assert context["attributes"]["list"] == ["a", {"deep": 2.0}]
    assert context["attributes"]["raw"] == "AP8="


def test_json_numbers_as_strings_and_non_finite_doubles() -> None:
    """int64 as a string or a number, doubles as "NaN"/"Infinity" (stored as those strings, as on
    every route: JSON has no such numbers); a malformed number refuses its record only."""
    values = [
        {"key": "n", "value": {"intValue": "12"}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "-Infinity"}},
    ]
    records = [
        {"timeUnixNano": 5_000_000, "attributes": values},
        {"attributes": [{"key": "x", "value": {"intValue": "twelve"}}]},
    ]
    body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}).encode()
    good, bad = read(body, otlp.JSON)
    assert isinstance(good.entry, IncomingEntry)
    assert good.entry.timestamp == 5.0
    context = json.loads(bytes(good.entry.context))
    assert context["attributes"] == {"n": 12, "nan": "NaN", "inf": "-Infinity"}
    assert isinstance(bad.entry, ValidationError)
    assert bad.entry.field == "intValue"


def test_a_protobuf_nan_and_a_json_lone_surrogate_are_stored_servable() -> None:
    """A NaN double in protobuf is stored as "NaN" like its JSON spelling, and a lone surrogate
    escape in OTLP/JSON becomes U+FFFD (the record is kept), as on the JSON ingest routes."""
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.attributes.add(key="nan").value.double_value = float("nan")
    (entry,) = read(request.SerializeToString(), otlp.PROTOBUF)
    assert isinstance(entry.entry, IncomingEntry)
    assert json.loads(bytes(entry.entry.context))["attributes"] == {"nan": "NaN"}
    body = (
        b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x\\ud800y"}}]}]}]}'
    )
    (entry,) = read(body, otlp.JSON)
    assert isinstance(entry.entry, IncomingEntry)
    assert entry.entry.message == "x\ufffdy"


def empty_records(kind: str, count: int, level: str) -> bytes:
    """``count`` empty records, scopes or resources (``level``), in one encoding."""
    if kind == otlp.JSON:
        items = ",".join(["{}"] * count)
        document = {
            "records": '{"resourceLogs":[{"scopeLogs":[{"logRecords":[%s]}]}]}',
            "scopes": '{"resourceLogs":[{"scopeLogs":[%s]}]}',
            "resources": '{"resourceLogs":[%s]}',
        }[level]
        return (document % items).encode()
    request = ExportLogsServiceRequest()
    if level == "resources":
        for _ in range(count):
            request.resource_logs.add()
    elif level == "scopes":
        scopes = request.resource_logs.add().scope_logs
        for _ in range(count):
            scopes.add()
    else:
        records = request.resource_logs.add().scope_logs.add().log_records
        for _ in range(count):
            records.add()
    serialized: bytes = request.SerializeToString()
    return serialized


@pytest.mark.parametrize("level", ["records", "scopes", "resources"])
@pytest.mark.parametrize("kind", [otlp.JSON, otlp.PROTOBUF])
def test_330000_empty_records_or_scopes_are_refused_by_their_count(kind: str, level: str) -> None:
    """330,000 empty records (or scopes, or resources; ~1 MB, ~1 KB gzipped) are a 413 naming
    TRACESINK_MAX_BATCH_ITEMS, found by counting before any record is converted: well under a
    second (ParseDict took ~2 s for the JSON records; now ~30 ms)."""
    body = empty_records(kind, 330_000, level)
    started = time.perf_counter()
    with pytest.raises(ValidationError) as caught:
        otlp.decode_request(body, kind, 1000)
    # ~30 ms here, ~2 s when every record was converted: 1 s leaves a loaded machine its slack
    assert time.perf_counter() - started < 1.0
    assert caught.value.status == 413
    assert "TRACESINK_MAX_BATCH_ITEMS" in caught.value.message


@pytest.mark.parametrize("kind", [otlp.JSON, otlp.PROTOBUF])
def test_values_past_what_a_context_holds_refuse_the_record_unconverted(kind: str) -> None:
    """A record with more attribute values than a context of TRACESINK_MAX_CONTEXT_BYTES could
    hold (one per two bytes), or values nested past MAX_VALUE_DEPTH, is refused by name; the
    other records of the request are read; a resource past the budget refuses its records."""
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    wide = scope.log_records.add()
    for i in range(600):
        wide.attributes.add(key=f"k{i}").value.int_value = i
    deep = scope.log_records.add().attributes.add(key="deep").value
    for _ in range(MAX_VALUE_DEPTH + 1):
        deep = deep.array_value.values.add()
    scope.log_records.add().body.string_value = "fine"
    crowded = request.resource_logs.add()
    for i in range(600):
        crowded.resource.attributes.add(key=f"r{i}").value.int_value = i
    crowded.scope_logs.add().log_records.add().body.string_value = "crowded"
    body = request.SerializeToString() if kind == otlp.PROTOBUF else as_otlp_json(request, True)
    wide_one, deep_one, fine, in_crowded = read(body, kind, max_context_bytes=1000)
    assert isinstance(wide_one.entry, ValidationError)
    assert "TRACESINK_MAX_CONTEXT_BYTES" in wide_one.entry.message
    assert isinstance(deep_one.entry, ValidationError)
    assert f"more than {MAX_VALUE_DEPTH} levels" in deep_one.entry.message
    assert isinstance(fine.entry, IncomingEntry)
    assert fine.entry.message == "fine"
    assert isinstance(in_crowded.entry, ValidationError)
    assert in_crowded.entry.field == "context"


@pytest.mark.parametrize("kind", [otlp.JSON, otlp.PROTOBUF])
def test_a_body_of_more_values_than_a_message_shows_is_refused_by_name(kind: str) -> None:
    """A structured body of more values than the budget (one per two bytes) refuses its record,
    naming the body; a body within it is rendered as JSON."""
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    items = scope.log_records.add().body.array_value.values
    for i in range(600):
        items.add().int_value = i
    scope.log_records.add().body.array_value.values.add().int_value = 1
    body = request.SerializeToString() if kind == otlp.PROTOBUF else as_otlp_json(request, True)
    big, small = read(body, kind, max_context_bytes=1000)
    assert isinstance(big.entry, ValidationError)
    assert big.entry.field == "body"
    assert isinstance(small.entry, IncomingEntry)
    assert small.entry.message == "[1]"


JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
OTLP_KEYS = st.sampled_from(
    [
        "resourceLogs",
        "scopeLogs",
        "logRecords",
        "resource",
        "scope",
        "name",
        "attributes",
        "key",
        "value",
        "values",
        "body",
        "stringValue",
        "intValue",
        "doubleValue",
        "arrayValue",
        "kvlistValue",
        "bytesValue",
        "traceId",
        "spanId",
        "severityNumber",
        "timeUnixNano",
    ]
)
JSON_DOCUMENT = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(OTLP_KEYS, inner, max_size=4),
    max_leaves=25,
)


# A record's fields filled with anything, inside a well-formed request: what reaches conversion.
IN_A_REQUEST = st.lists(st.dictionaries(OTLP_KEYS, JSON_DOCUMENT, max_size=4), max_size=3).map(
    lambda found: {"resourceLogs": [{"scopeLogs": [{"logRecords": found}]}]}
)


@settings(max_examples=400, deadline=None)
@given(document=JSON_DOCUMENT | IN_A_REQUEST, raw=st.binary(max_size=64))
def test_any_body_is_records_or_a_validation_error(document: Any, raw: bytes) -> None:
    """Whatever JSON (shaped like OTLP or not) or bytes arrive, decoding and reading the
    records raises nothing but a ValidationError, and every record is an entry or the error
    that refuses it."""
    for body, kind in ((json.dumps(document).encode(), otlp.JSON), (raw, otlp.PROTOBUF)):
        with contextlib.suppress(ValidationError):
            for record in read(body, kind):
                assert isinstance(record.entry, IncomingEntry | ValidationError)
