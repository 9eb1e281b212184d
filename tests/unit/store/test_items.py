"""A trace list's items as readers see them (store/items.py): whatever a list holds, each item
decodes to an entry, a drop marker or a placeholder saying why it could not be read."""

from __future__ import annotations

import msgspec
import pytest

from tracesink.store.base import summarize
from tracesink.store.items import decode_items, is_entry, one_line

ENTRY = b'{"id":"0000000000010000000000000001","system":"browser","level":"warn","message":"m"}'
MARKER = b'{"kind":"dropped","count":2,"by":{"global":0,"system":0,"trace":2},"first":1,"last":2}'


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b'{"a":1e400}', "not JSON"),
        (b'{"kind":"dropped","count":"many"}', "a drop marker without its counts"),
        (b'{"kind":"dropped","count":1,"by":{"trace":1},"first":1,"last":1e300}', "a drop"),
        (b'{"kind":"something"}', "an item of an unknown kind"),
        (b'{"kind":"trimmed","count":-1}', "a trimmed marker without its count"),
        (b'{"id":"x","level":["warn"]}', "level not text"),
    ],
)
def test_what_cannot_be_read_becomes_a_placeholder(raw: bytes, reason: str) -> None:
    """Each item readers would fail on reads as ``kind: undecodable`` with its position, its
    length, a safe excerpt and the reason; its neighbours read as they are."""
    items = decode_items([ENTRY, raw, MARKER])
    assert items[0] == msgspec.json.decode(ENTRY)
    assert items[2] == msgspec.json.decode(MARKER)
    placeholder = items[1]
    assert placeholder["kind"] == "undecodable"
    assert (placeholder["position"], placeholder["bytes"]) == (1, len(raw))
    assert placeholder["reason"].startswith(reason)
    assert placeholder["excerpt"] == raw[:64].decode("utf-8", "replace")
    assert msgspec.json.encode(placeholder)  # every reader can send it on


def test_both_markers_read_as_themselves() -> None:
    """A drop marker and the trimmed marker of a list at its cap are markers, not placeholders."""
    trimmed = b'{"kind":"trimmed","count":3}'
    assert decode_items([MARKER, trimmed]) == [
        msgspec.json.decode(MARKER),
        {"kind": "trimmed", "count": 3},
    ]


def test_a_trace_summary_counts_entries_only() -> None:
    """/traces: placeholders and markers are not entries; the summary still has what is."""
    summary = summarize("t", [ENTRY, b"garbage", MARKER], 5)
    assert (summary.count, summary.systems, summary.levels) == (1, ["browser"], {"warn": 1})
    assert not is_entry(decode_items([b"garbage"])[0])


def test_a_stream_sends_one_line_per_item() -> None:
    """An item stored over several lines is re-encoded for a stream; one line goes as stored."""
    assert one_line(ENTRY, {}) is ENTRY
    pretty = b'{\n "id": "1"\n}'
    assert one_line(pretty, msgspec.json.decode(pretty)) == b'{"id":"1"}'
