"""The wire contract for one entry, and how batch bodies are split into items."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracesink.errors import ValidationError
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import (
    EntryRules,
    decode_batch,
    decode_entry,
    prepare_entry,
    split_batch,
)
from tracesink.times import iso_ms

RULES = EntryRules(max_message_bytes=64, max_context_bytes=200, max_context_depth=3)
NOW = 1_795_946_400_000
DETECTED = Sender({"origin": "https://app.example"})


def prepare(body: dict[str, Any] | bytes) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    entry = prepare_entry(decode_entry(raw), RULES, DETECTED, NOW)
    stored: dict[str, Any] = json.loads(entry.payload)
    assert stored["id"] == entry.id
    return stored


def field_of(body: dict[str, Any] | bytes) -> str | None:
    with pytest.raises(ValidationError) as caught:
        prepare(body)
    return caught.value.field


def test_stored_entry_has_the_contract_fields() -> None:
    """A full entry keeps every field, with server times in ISO 8601 and the detection rule."""
    stored = prepare(
        {
            "trace_id": "abc-1",
            "message": "m",
            "level": "warn",
            "user_id": 7,
            "stack": "at x",
            "context": {"k": [1, 2]},
            "timestamp": NOW - 5,
        }
    )
    assert stored == {
        "id": stored["id"],
        "trace_id": "abc-1",
        "user_id": "7",
        "system": "browser",
        "level": "warn",
        "message": "m",
        "stack": "at x",
        "timestamp": iso_ms(NOW - 5),
        "received_at": iso_ms(NOW),
        "context": {"k": [1, 2]},
        "detected_by": "origin",
    }


def test_ids_are_unique_and_sort_by_time() -> None:
    """Ids of later entries sort after earlier ones, even within one millisecond."""
    body = json.dumps({"trace_id": "t", "message": "m"}).encode()
    ids = [prepare_entry(decode_entry(body), RULES, DETECTED, NOW + i // 3).id for i in range(9)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 9


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "m"}, "trace_id"),
        ({"trace_id": "", "message": "m"}, "trace_id"),
        ({"trace_id": "a b", "message": "m"}, "trace_id"),
        ({"trace_id": "x" * 129, "message": "m"}, "trace_id"),
        ({"trace_id": "logs:{x}", "message": "m"}, "trace_id"),
        ({"trace_id": 5, "message": "m"}, "trace_id"),
        ({"trace_id": "t"}, "message"),
        ({"trace_id": "t", "message": 3}, "message"),
        ({"trace_id": "t", "message": "m", "level": "verbose"}, "level"),
        ({"trace_id": "t", "message": "m", "system": "main frame"}, "system"),
        ({"trace_id": "t", "message": "m", "system": "x" * 33}, "system"),
        ({"trace_id": "t", "message": "m", "context": [1]}, "context"),
        ({"trace_id": "t", "message": "m", "context": {"a": {"b": {"c": {}}}}}, "context"),
        ({"trace_id": "t", "message": "m", "context": {"a": "x" * 300}}, "context"),
        ({"trace_id": "t", "message": "m", "timestamp": "yesterday"}, "timestamp"),
        ({"trace_id": "t", "message": "m", "timestamp": -1}, "timestamp"),
        ({"trace_id": "t", "message": "m", "timestamp": True}, "timestamp"),
        ({"trace_id": "t", "message": "m", "user_id": "u" * 257}, "user_id"),
        (b'{"trace_id": "t", "message": "\xff"}', "body"),
        (b'{"trace_id": "t", "message": "m", "context": {"a": "\xff"}}', "body"),
        (b'{"trace_id": "t", "message": "m", "context": "[[[[[[[["}', "context"),
        (b'{"trace_id": "t", "message": "m"', "body"),
        (b"[]", None),
        (b'{"trace_id": "t", "message": "m", "context": {"a": 1e400}}', "context"),
        (b'{"trace_id": "t", "message": "m", "context": {"a": [-' + b"9" * 400 + b"]}}", "context"),
        (b'{"trace_id": "t", "message": "m", "timestamp": 1e400}', "timestamp"),
        (b'{"trace_id": "t", "message": "m", "x": ' + b"[" * 300 + b"]" * 300 + b"}", "x"),
    ],
)
def test_bad_input_names_the_field(body: dict[str, Any] | bytes, field: str | None) -> None:
    """Every kind of bad input raises a 400-class error naming the field that broke the contract."""
    assert field_of(body) == field


def test_levels_and_their_aliases() -> None:
    """The four levels pass; debug is stored as log, warning as warn; case does not matter."""
    assert prepare({"trace_id": "t", "message": "m", "level": "ERROR"})["level"] == "error"
    assert prepare({"trace_id": "t", "message": "m", "level": "debug"})["level"] == "log"
    assert prepare({"trace_id": "t", "message": "m", "level": "warning"})["level"] == "warn"
    assert prepare({"trace_id": "t", "message": "m"})["level"] == "log"


def test_explicit_system_wins_over_detection() -> None:
    """A system in the body overrides what headers suggested, and says so."""
    stored = prepare({"trace_id": "t", "message": "m", "system": "convex"})
    assert (stored["system"], stored["detected_by"]) == ("convex", "body")


def test_long_message_is_truncated_with_a_visible_marker() -> None:
    """Over the cap, the message is cut (not dropped), marked, and the entry says truncated."""
    stored = prepare({"trace_id": "t", "message": "é" * 100})
    assert stored["truncated"] is True
    assert stored["message"].startswith("é" * 32)
    assert stored["message"].endswith("… [truncated 136 bytes]")
    assert "truncated" not in prepare({"trace_id": "t", "message": "é" * 32})


def test_long_stack_is_truncated_too() -> None:
    """The stack obeys the same cap as the message."""
    stored = prepare({"trace_id": "t", "message": "m", "stack": "s" * 100})
    assert stored["truncated"] is True
    assert stored["stack"].endswith("[truncated 36 bytes]")


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (NOW - 1000, NOW - 1000),  # milliseconds, as Date.now() sends
        ((NOW - 1000) / 1000, NOW - 1000),  # seconds, as time.time() sends
        ("2026-11-29T10:00:00.250Z", NOW + 250),
        ("2026-11-29T11:00:00+01:00", NOW),
        ("2026-11-29T10:00:00", NOW),  # no zone: UTC
    ],
)
def test_timestamps_in_every_common_shape(sent: float | str, expected: int) -> None:
    """Client timestamps in ms, seconds or ISO 8601 are stored as ISO 8601 UTC."""
    assert prepare({"trace_id": "t", "message": "m", "timestamp": sent})["timestamp"] == iso_ms(
        expected
    )


def test_unknown_fields_are_ignored() -> None:
    """Newer clients may send more fields; they are not stored and do not fail the entry."""
    assert "colour" not in prepare({"trace_id": "t", "message": "m", "colour": "red"})


def test_split_batch_reads_arrays_and_ndjson() -> None:
    """A JSON array gives its elements; NDJSON its non-blank lines; both in order."""
    array = split_batch(b' [{"a": 1}, {"b": 2}] ')
    assert [bytes(item) for item in array if isinstance(item, msgspec.Raw)] == [
        b'{"a": 1}',
        b'{"b": 2}',
    ]
    assert split_batch(b'{"a": 1}\n\n{"b": 2}\n') == [b'{"a": 1}', b'{"b": 2}']


@pytest.mark.parametrize("body", [b"", b"  \n ", b"[]", b"[1, 2"])
def test_split_batch_refuses_empty_or_broken_bodies(body: bytes) -> None:
    """An empty batch, or a malformed array, fails the whole request with field body."""
    with pytest.raises(ValidationError) as caught:
        split_batch(body)
    assert caught.value.field == "body"


@given(st.binary(max_size=300))
def test_any_bytes_either_parse_or_raise_a_validation_error(body: bytes) -> None:
    """No input makes the parser raise anything but ValidationError."""
    with contextlib.suppress(ValidationError):
        for item in split_batch(body):
            with contextlib.suppress(ValidationError):
                prepare_entry(decode_entry(item), RULES, DETECTED, NOW)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda kids: (
            st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
        ),
        max_leaves=20,
    )
)
def test_any_json_context_is_stored_or_refused_by_name(value: Any) -> None:
    """Whatever JSON a context holds, it is stored as sent or refused naming `context`."""
    body = {"trace_id": "t", "message": "m", "context": value}
    try:
        stored = prepare(body)
    except ValidationError as exc:
        refused_field = exc.field
    else:
        refused_field = None
        assert stored.get("context") == value
    assert refused_field in (None, "context")


def test_brackets_inside_context_strings_are_not_nesting() -> None:
    """A shallow context whose strings hold many brackets is stored as sent."""
    context = {"pattern": "[[[[{{{{]]]]}}}}", "list": [[1]]}
    assert prepare({"trace_id": "t", "message": "m", "context": context})["context"] == context


def test_decode_batch_gives_each_item_or_its_error_in_order() -> None:
    """Valid items decode, bad ones become the ValidationError naming their field, in order,
    for arrays and NDJSON alike."""
    good = {"trace_id": "t", "message": "m"}
    array = json.dumps([good, {"trace_id": "t"}, good]).encode()
    ndjson = b"\n".join(json.dumps(item).encode() for item in (good, {"trace_id": "t"}, good))
    for body in (array, ndjson):
        items = decode_batch(body)
        assert [type(item).__name__ for item in items] == [
            "IncomingEntry",
            "ValidationError",
            "IncomingEntry",
        ]
        error = items[1]
        assert isinstance(error, ValidationError)
        assert error.field == "message"


@given(st.binary(max_size=300))
def test_decode_batch_never_raises_anything_but_a_validation_error(body: bytes) -> None:
    """Whatever the bytes, a batch either decodes into items or fails as a whole with a 400."""
    with contextlib.suppress(ValidationError):
        for item in decode_batch(body):
            assert isinstance(item, IncomingEntry | ValidationError)


@pytest.mark.parametrize(
    ("body", "message", "context"),
    [
        (rb'{"trace_id":"t","message":"x\ud800y"}', "x\ufffdy", None),
        (rb'{"trace_id":"t","message":"\udc00\ud83d\ude00"}', "\ufffd\U0001f600", None),
        (rb'{"trace_id":"t","message":"\\ud800"}', "\\ud800", None),
        (rb'{"trace_id":"t","message":"m","context":{"a":"\ud800"}}', "m", rb'{"a":"\ufffd"}'),
        (b'\xef\xbb\xbf{"trace_id":"t","message":"m"}', "m", None),
        (b'{"trace_id":"t","message":"m","context":{"a":1e-400,"b":"1e400"}}', "m", None),
    ],
)
def test_what_no_reader_could_serve_is_normalised_at_the_door(
    body: bytes, message: str, context: bytes | None
) -> None:
    """A lone surrogate escape is stored as U+FFFD (escaped as \\ufffd inside context, which is
    kept as sent), a leading byte order mark is ignored; tiny numbers and numbers in strings are
    not refused. What is stored decodes again."""
    entry = prepare_entry(decode_entry(body), RULES, DETECTED, NOW)
    stored = msgspec.json.decode(entry.payload)
    assert stored["message"] == message
    if context is not None:
        assert b'"context":' + context in entry.payload


@pytest.mark.parametrize(
    ("given", "ms"),
    [
        (1715879172882.5, 1715879172882),
        (1715879172.882, 1715879172882),
        ("2024-05-16T17:06:12.8829999Z", 1715879172882),
        ("2024-W01-1", 1704067200000),
        ("2024W011T00", 1704067200000),
        ("20240101T000000", 1704067200000),
        ("2024-01-01T05:30:15+05:30:15", 1704067200000),
        ("2024-01-01 00:00:00,5-00:00", 1704067200500),
    ],
)
def test_timestamps_fall_in_their_millisecond(given: float | str, ms: int) -> None:
    """Numbers and the shared ISO 8601 grammar (week dates, basic format, offsets with seconds,
    long fractions) give the millisecond the moment falls in, floored."""
    stored = prepare({"trace_id": "t", "message": "m", "timestamp": given})
    assert stored["timestamp"] == iso_ms(ms)


@pytest.mark.parametrize(
    "given", ["2024-01-01x00:00", "2021-W53-1", "2024-001", "2024-01-01T24:00", "9999-W52-7"]
)
def test_timestamps_outside_the_grammar_are_refused(given: str) -> None:
    """What fromisoformat would take but the shared grammar does not: 400 naming timestamp."""
    assert field_of({"trace_id": "t", "message": "m", "timestamp": given}) == "timestamp"
