"""OTLP/HTTP logs into a real ``tracesink serve``: the real OpenTelemetry SDK and exporter, the
JSON encoding by hand, partial success, 429, malformed payloads and a gzip bomb."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.support.service import Service, serving, stored

pytestmark = pytest.mark.slow

JSON = {"content-type": "application/json"}
PROTOBUF = {"content-type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def served() -> Iterator[Service]:
    env = {
        "TRACESINK_TRACE_LIMIT": "3",
        "TRACESINK_OTLP_SERVICE_SYSTEMS": "checkout-api=convex",
        "TRACESINK_MAX_BODY_BYTES": "65536",
    }
    with serving(env) as service:
        yield service


def otlp_json(*records: dict[str, Any], service: str = "json-svc") -> dict[str, Any]:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    scope_logs = [{"scope": {"name": "by-hand"}, "logRecords": list(records)}]
    return {"resourceLogs": [{"resource": resource, "scopeLogs": scope_logs}]}


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_sdk_logs_inside_a_span_land_under_the_spans_trace(
    served: Service, http: httpx.Client, compression: Compression
) -> None:
    """Logs emitted through the OpenTelemetry SDK's logger and OTLP/HTTP exporter (protobuf,
    plain and gzip) inside a span are stored under the span's trace id with their levels,
    attributes and service, and the system the service is mapped to."""
    exporter = OTLPLogExporter(endpoint=f"{served.url}/v1/logs", compression=compression)
    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout-api"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("checkout")
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("checkout") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            for severity, body in [
                (SeverityNumber.INFO, "charging card"),
                (SeverityNumber.WARN, "slow gateway"),
                (SeverityNumber.ERROR, "declined"),
            ]:
                logger.emit(severity_number=severity, body=body, attributes={"order": 42})
    finally:
        provider.shutdown()
    entries = stored(http, trace_id)
    assert [(e["message"], e["level"]) for e in entries] == [
        ("charging card", "info"),
        ("slow gateway", "warn"),
        ("declined", "error"),
    ]
    first = entries[0]
    assert (first["system"], first["detected_by"]) == ("convex", "otlp-service")
    assert first["context"]["attributes"] == {"order": 42}
    assert first["context"]["resource"]["service.name"] == "checkout-api"
    assert first["context"]["scope"] == "checkout"
    assert len(first["context"]["span_id"]) == 16


def test_json_by_hand_with_hex_ids_severities_and_structured_bodies(http: httpx.Client) -> None:
    """OTLP/JSON: hex trace id, severity numbers and texts, a map body rendered as JSON, the
    record's nanosecond time kept; X-Log-System wins over the service table."""
    trace_id = "5b8efff798038103d269b633813fc60c"
    body = otlp_json(
        {
            "timeUnixNano": "1795946400123000000",
            "severityNumber": 21,
            "traceId": trace_id.upper(),
            "spanId": "EEE19B7EC3C1B174",
            "body": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "7"}}]}},
            "attributes": [{"key": "http.status", "value": {"intValue": 503}}],
        },
        {"severityText": "Warning", "traceId": trace_id, "body": {"stringValue": "text"}},
        {"traceId": trace_id, "body": {"stringValue": "no severity"}},
    )
    response = http.post("/v1/logs", json=body, headers={"x-log-system": "worker"})
    assert response.status_code == 200
    assert response.json() == {}
    entries = stored(http, trace_id)
    assert [(e["message"], e["level"]) for e in entries] == [
        ('{"k":7}', "error"),
        ("text", "warn"),
        ("no severity", "log"),
    ]
    assert entries[0]["timestamp"] == "2026-11-29T10:00:00.123Z"
    assert entries[0]["context"]["attributes"] == {"http.status": 503}
    assert {e["system"] for e in entries} == {"worker"}


def test_records_without_a_trace_id_go_to_the_services_fallback_trace(
    http: httpx.Client,
) -> None:
    """Nothing is dropped for lacking a trace id: it lands in otlp-<service>."""
    response = http.post(
        "/v1/logs",
        json=otlp_json({"body": {"stringValue": "orphan"}}, service="cron job"),
    )
    assert response.status_code == 200
    assert [e["message"] for e in stored(http, "otlp-cron-job")] == ["orphan"]


def test_partial_success_counts_records_refused_by_limits(http: httpx.Client) -> None:
    """Five records for a trace that admits three: 200 with partial_success naming two."""
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    records = [{"traceId": trace_id, "body": {"stringValue": str(i)}} for i in range(5)]
    response = http.post("/v1/logs", json=otlp_json(*records))
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "2"  # int64 is a string in protobuf's JSON mapping
    assert "rate limits" in partial["errorMessage"]
    again = http.post("/v1/logs", json=otlp_json(*records[:2]))
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) > 0
    assert again.json()["code"] == 8  # RESOURCE_EXHAUSTED


def test_protobuf_answers_protobuf(http: httpx.Client) -> None:
    """A protobuf request gets a protobuf ExportLogsServiceResponse."""
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = "binary"
    record.trace_id = bytes.fromhex("1" * 32)
    response = http.post("/v1/logs", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    parsed = ExportLogsServiceResponse()
    parsed.ParseFromString(response.content)
    assert not parsed.HasField("partial_success")
    assert [e["message"] for e in stored(http, "1" * 32)] == ["binary"]


@pytest.mark.parametrize(
    ("content", "headers", "status", "says"),
    [
        (b"\x0a\xff\xff\xff", PROTOBUF, 400, "body is not a valid OTLP protobuf"),
        (b"{not json", JSON, 400, "body is not valid JSON"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
            JSON,
            400,
            "traceId must be hex, got 'zz'",
        ),
        (b"[1, 2]", JSON, 400, "not a valid OTLP/JSON request"),
        (b"{}", {"content-type": "text/plain"}, 415, "Content-Type must be application/x-protobuf"),
        (b"not gzip", {**JSON, "content-encoding": "gzip"}, 400, "body is not valid gzip"),
        (
            b"{}",
            {**JSON, "content-encoding": "br"},
            415,
            "Content-Encoding must be gzip or identity",
        ),
    ],
)
def test_malformed_requests_are_refused_with_a_status_saying_why(
    http: httpx.Client, content: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    """Malformed protobuf, JSON, gzip or an unsupported type/encoding: a 4xx whose message
    (in the request's own encoding: an OTLP Status, protobuf or JSON) names what is wrong."""
    response = http.post("/v1/logs", content=content, headers=headers)
    assert response.status_code == status
    assert says.encode() in response.content


def test_a_gzip_bomb_stops_at_the_decompressed_size_cap(
    served: Service, http: httpx.Client
) -> None:
    """64 MiB of zeros gzip to ~64 KiB; decompression stops at TRACESINK_MAX_BODY_BYTES (64 KiB
    here) and answers 413, and the service stays healthy."""
    bomb = gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 65_536
    response = http.post("/v1/logs", content=bomb, headers={**JSON, "content-encoding": "gzip"})
    assert response.status_code == 413
    assert "decompresses to more than 65536 bytes" in response.json()["message"]
    assert http.get("/health").status_code == 200
