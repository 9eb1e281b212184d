"""Count an OTLP protobuf request's records in its wire format, before protobuf parses it.

protobuf's parser (upb, in C) is fast, but it builds every message: 330,000 empty records in a
1 MB body (~1 KB gzipped) took ~80 ms and a ~46 MB arena before anything could count them.
Here only the three outer levels are walked (ExportLogsServiceRequest.resource_logs = 1,
ResourceLogs.scope_logs = 2, ScopeLogs.log_records = 2), one Python step per field, and the walk
stops as soon as a count passes the cap: at most a few thousand steps whatever the body holds.
A body it cannot walk is left to the parser, which says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterator

from tracesink.errors import ValidationError

# The field numbers walked (opentelemetry/proto/logs/v1/logs.proto and its collector service).
_REQUEST_RESOURCE_LOGS, _RESOURCE_SCOPE_LOGS, _SCOPE_LOG_RECORDS = 1, 2, 2
_LEN, _VARINT, _FIXED64, _FIXED32 = 2, 0, 1, 5


class _Unreadable(Exception):
    """Not a wire format this walk reads: the parser will say why."""


def check_counts(body: bytes, max_records: int) -> None:
    """413 when ``body`` holds more than ``max_records`` log records, scopes or resources, or
    more fields around them than such a request needs; nothing when it cannot be walked."""
    steps = _Steps(max_records)
    records = scopes = resources = 0
    try:
        for number, start, end in _fields(body, 0, len(body), steps):
            if number != _REQUEST_RESOURCE_LOGS:
                continue
            resources += 1
            for inner, scope_start, scope_end in _fields(body, start, end, steps):
                if inner != _RESOURCE_SCOPE_LOGS:
                    continue
                scopes += 1
                if scopes > max_records or resources > max_records:
                    raise too_many(f"more than {max_records} scopes of log records", max_records)
                for field, _, _ in _fields(body, scope_start, scope_end, steps):
                    if field == _SCOPE_LOG_RECORDS:
                        records += 1
                        if records > max_records:
                            raise too_many(f"more than {max_records} log records", max_records)
            if resources > max_records:
                raise too_many(f"more than {max_records} scopes of log records", max_records)
    except _Unreadable:
        return


def too_many(what: str, max_records: int) -> ValidationError:
    return ValidationError(
        f"the request holds {what}; at most {max_records} (TRACESINK_MAX_BATCH_ITEMS)",
        field="body",
        status=413,
    )


class _Steps:
    """Fields walked: a request of ``max_records`` records, each in its own scope and resource,
    needs about six per record; eight per record leaves room for fields unknown to this walk."""

    __slots__ = ("left", "max_records")

    def __init__(self, max_records: int) -> None:
        self.max_records = max_records
        self.left = 8 * max_records + 64

    def take(self) -> None:
        self.left -= 1
        if self.left < 0:
            most = 8 * self.max_records + 64
            raise too_many(f"more than {most} protobuf fields around its records", self.max_records)


def _fields(data: bytes, pos: int, end: int, steps: _Steps) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each field of the message in ``data[pos:end]``; the
    payload's bounds for a length-delimited one, empty for the others."""
    while pos < end:
        steps.take()
        tag, pos = _varint(data, pos, end)
        wire = tag & 7
        if wire == _LEN:
            length, pos = _varint(data, pos, end)
            if pos + length > end:
                raise _Unreadable
            yield tag >> 3, pos, pos + length
            pos += length
        elif wire == _VARINT:
            _, pos = _varint(data, pos, end)
            yield tag >> 3, pos, pos
        elif wire in (_FIXED64, _FIXED32):
            pos += 8 if wire == _FIXED64 else 4
            yield tag >> 3, pos, pos
        else:  # groups (deprecated) or garbage
            raise _Unreadable
    if pos != end:
        raise _Unreadable


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while pos < end and shift < 70:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise _Unreadable
