"""Counting an OTLP protobuf request's records in its wire format, before it is parsed: the same
counts the parsed message has, refused past the cap, and garbage left to the parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

from tracesink.errors import ValidationError
from tracesink.ingest.otlp_count import check_counts

CAP = 4
# resources, each a list of scopes, each a count of records; with fields of every wire type
SHAPES = st.lists(st.lists(st.integers(0, 3), max_size=3), max_size=3)


def request_of(shape: list[list[int]]) -> bytes:
    request = ExportLogsServiceRequest()
    for scopes in shape:
        resource_logs = request.resource_logs.add()
        resource_logs.schema_url = "https://opentelemetry.io/schemas/1.0"
        resource_logs.resource.attributes.add(key="service.name").value.string_value = "s"
        for count in scopes:
            scope_logs = resource_logs.scope_logs.add()
            scope_logs.scope.name = "scope"
            for i in range(count):
                record = scope_logs.log_records.add()
                record.time_unix_nano = 1_795_946_400_000_000_000 + i  # fixed64
                record.severity_number = SeverityNumber.SEVERITY_NUMBER_INFO  # varint
                record.body.double_value = 1.5  # fixed64 inside
                record.flags = 1  # fixed32
    serialized: bytes = request.SerializeToString()
    return serialized


@settings(max_examples=300, deadline=None)
@given(shape=SHAPES)
def test_refused_exactly_when_a_count_passes_the_cap(shape: list[list[int]]) -> None:
    """A request is refused (413 naming TRACESINK_MAX_BATCH_ITEMS) exactly when its records, or
    its scopes, or its resources, number more than the cap."""
    records = sum(sum(scopes) for scopes in shape)
    scopes = sum(len(scopes) for scopes in shape)
    over = max(records, scopes, len(shape)) > CAP
    refused = None
    try:
        check_counts(request_of(shape), CAP)
    except ValidationError as exc:
        refused = exc
    assert (refused is not None) == over
    if refused is not None:
        assert refused.status == 413
        assert "TRACESINK_MAX_BATCH_ITEMS" in refused.message


def test_fields_past_what_a_request_needs_are_refused() -> None:
    """100,000 fields unknown to the walk inside one scope (3 bytes each) stop the walk at
    8 per record of the cap (a few thousand steps), with a 413."""
    unknown = b"\x98\x06\x01" * 100_000  # field 99, a varint, again and again
    scope = b"\x12" + _varint(len(unknown)) + unknown
    body = b"\x0a" + _varint(len(scope)) + scope
    with pytest.raises(ValidationError) as caught:
        check_counts(body, 1000)
    assert "protobuf fields" in caught.value.message
    assert caught.value.status == 413


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_garbage_is_left_to_the_parser(garbage: bytes) -> None:
    """Bytes that are no protobuf raise nothing here but a count's 413 (the parser then says
    what is wrong with the rest)."""
    with contextlib.suppress(ValidationError):
        check_counts(garbage, CAP)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
