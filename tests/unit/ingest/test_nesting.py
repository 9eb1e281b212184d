"""Deep nesting anywhere in a body is a 400 naming the place, never a RecursionError; a batch is
counted before its items are decoded one by one, and its item errors hold no traceback."""

from __future__ import annotations

import gc

import msgspec
import pytest

from tracesink.errors import ValidationError
from tracesink.ingest import validate
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.nesting import DEPTH_REPORTED, deep_place
from tracesink.ingest.validate import decode_batch, decode_entry

DEEP_ARRAY = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
OK = b'{"trace_id":"t","message":"m"}'


def entry_with(field: str, value: bytes) -> bytes:
    return b'{"trace_id":"t","message":"m","' + field.encode() + b'":' + value + b"}"


@pytest.mark.parametrize(
    ("body", "field", "place"),
    [
        (entry_with("context", DEEP_OBJECT), "context", "field `context`"),
        (entry_with("unknown", DEEP_ARRAY), "unknown", "field `unknown`"),
        (entry_with("context", DEEP_ARRAY), "context", "field `context`"),
    ],
)
def test_a_deep_field_of_an_entry_is_named(body: bytes, field: str, place: str) -> None:
    """context (object or array) or an unknown field nested past msgspec's guard: 400 naming it."""
    with pytest.raises(ValidationError) as caught:
        decode_entry(body)
    assert caught.value.status == 400
    assert caught.value.field == field
    assert caught.value.message.startswith(place)


def test_a_deep_batch_top_level_is_named() -> None:
    """A JSON array batch whose first item is a deep array: 400 naming item 0 of the batch."""
    with pytest.raises(ValidationError) as caught:
        decode_batch(DEEP_ARRAY)
    assert caught.value.field == "body"
    assert caught.value.message.startswith("item 0 is nested too deeply")


def test_a_deep_item_of_a_json_array_batch_is_named() -> None:
    """One deep item of a JSON array: the 400 names the item and its field."""
    with pytest.raises(ValidationError) as caught:
        decode_batch(b"[" + OK + b"," + entry_with("context", DEEP_OBJECT) + b"]")
    assert caught.value.field == "context"
    assert caught.value.message.startswith("item 1, field `context`")


def test_a_deep_ndjson_line_rejects_that_line_only() -> None:
    """NDJSON: the deep line becomes that item's error, the others are decoded."""
    items = decode_batch(OK + b"\n" + entry_with("x", DEEP_ARRAY) + b"\n" + OK)
    assert [type(item).__name__ for item in items] == [
        "IncomingEntry",
        "ValidationError",
        "IncomingEntry",
    ]
    assert isinstance(items[1], ValidationError)
    assert items[1].field == "x"


def test_brackets_in_strings_do_not_count_as_depth() -> None:
    """Brackets and escaped quotes inside strings are not nesting."""
    text = b'"\\"' + b"[" * (DEPTH_REPORTED + 10) + b'"'
    assert deep_place(b'{"a":' + text + b"}") == []
    assert deep_place(b'{"a":' + text + b',"b":' + DEEP_ARRAY + b"}") == ["b", 0]


def test_an_overlong_batch_is_refused_before_any_item_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """512k invalid items in ~1 MiB: 413 naming the limit, without decoding a single item (the
    item by item decode took ~3 s of event loop on a fast machine before)."""
    decoded: list[object] = []

    def counting(item: bytes | msgspec.Raw) -> IncomingEntry:
        decoded.append(item)
        return decode_entry(item)

    monkeypatch.setattr(validate, "decode_entry", counting)
    body = b"[" + b",".join([b"0"] * 512 * 1024) + b"]"
    with pytest.raises(ValidationError) as caught:
        decode_batch(body, 1000)
    assert decoded == []
    assert caught.value.status == 413
    assert "TRACESINK_MAX_BATCH_ITEMS" in caught.value.message
    ndjson = b"\n".join([b"0"] * 512 * 1024)
    with pytest.raises(ValidationError, match="TRACESINK_MAX_BATCH_ITEMS"):
        decode_batch(ndjson, 1000)


def test_item_errors_carry_no_traceback_and_leave_no_cycles() -> None:
    """The errors a batch returns were never raised: no traceback, no context, so no frame (and
    no list of items) is kept alive by them when the collector does not run."""
    gc.collect()
    gc.disable()
    try:
        items = decode_batch(b"[0, 1, 2]")
        assert all(isinstance(item, ValidationError) for item in items)
        for item in items:
            assert isinstance(item, ValidationError)
            assert item.__traceback__ is None
            assert item.__context__ is None
        del items
        assert gc.collect() == 0
    finally:
        gc.enable()
