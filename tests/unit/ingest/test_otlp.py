"""OTLP decoding as pure functions: severities, fallback traces, gzip caps, Status encoding."""

from __future__ import annotations

import gzip

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tracesink.errors import ValidationError
from tracesink.ingest import otlp


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
    found = list(otlp.records(request, "otlp-{service}"))
    assert [(r.service, r.entry.trace_id, r.entry.message) for r in found] == [
        ("a", "otlp-a", "from a"),
        ("b", "otlp-b", "from b"),
    ]


def test_json_ids_must_be_hex() -> None:
    body = b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"not-hex"}]}]}]}'
    with pytest.raises(ValidationError) as caught:
        otlp.decode_request(body, otlp.JSON)
    assert "spanId must be hex" in caught.value.message
