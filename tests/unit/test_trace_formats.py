"""The export shapes as pure functions: which shape a request asks for (``?format``, then
``Accept`` with its q-values), the Markdown report's escaping of hostile log text, and an export
read back for an import (markers in the store's own bytes, the entry rules enforced)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tracesink.app.http import Request
from tracesink.app.trace_formats import trace_format
from tracesink.app.trace_markdown import fenced, trace_markdown
from tracesink.errors import ValidationError
from tracesink.ingest.imported import imported_items
from tracesink.ingest.validate import EntryRules

RULES = EntryRules(max_message_bytes=100, max_context_bytes=200, max_context_depth=4)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def request(query: str = "", accept: str | None = None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    scope = {"path": "/logs/t", "query_string": query.encode(), "headers": headers}

    async def receive() -> dict[str, Any]:
        return {}

    return Request(scope, receive)


@pytest.mark.parametrize(
    ("query", "accept", "shape"),
    [
        ("", None, "json"),
        ("", BROWSER, "json"),
        ("", "*/*", "json"),
        ("", "application/x-ndjson", "ndjson"),
        ("", "text/markdown;q=0.5, application/x-ndjson", "ndjson"),
        ("", "application/json;q=0, text/markdown", "md"),
        ("format=md", "application/json", "md"),
        ("format=ndjson", "text/csv", "ndjson"),
    ],
)
def test_the_shape_is_the_query_s_else_the_most_preferred_served_type(
    query: str, accept: str | None, shape: str
) -> None:
    """?format wins; else the Accept type most preferred by q-value that is served; a browser's
    navigation (wildcard last) and no Accept at all get JSON."""
    assert trace_format(request(query, accept)) == shape


def test_unknown_shapes_are_refused_naming_them() -> None:
    """A format not served: 400 naming ``format``; an Accept of only unserved types: 406."""
    with pytest.raises(ValidationError) as bad:
        trace_format(request("format=csv"))
    assert (bad.value.status, bad.value.field) == (400, "format")
    assert "'csv'" in bad.value.message
    with pytest.raises(ValidationError) as refused:
        trace_format(request(accept="text/csv, image/png"))
    assert (refused.value.status, refused.value.field) == (406, "Accept")
    assert "text/csv, image/png" in refused.value.message


def trace(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "trace_id": "t",
        "count": len(entries),
        "total": len(entries),
        "entries": list(entries),
        "expires_at": None,
        "dropped": {"total": 0},
        "trimmed": 0,
    }


def test_hostile_text_cannot_break_the_report() -> None:
    """A message with HTML, a link, emphasis, a table pipe and line breaks stays one table row
    of literal text; a stack holding a code fence stays inside its block."""
    hostile = "</td><script>alert(1)</script> [x](javascript:a) **b** | c\n# H\r\n---"
    stack = "```\n# not a heading\n````"
    text = trace_markdown(
        trace(
            {"id": "1", "system": "browser", "level": "error", "message": hostile, "stack": stack}
        )
    )
    rows = [line for line in text.splitlines() if line.startswith("| 1 |")]
    assert len(rows) == 1
    row = rows[0]
    assert "<script" not in row
    assert "&lt;script&gt;" in row
    assert "\\[x\\]" in row
    assert "\\*\\*b\\*\\*" in row
    assert row.count("|") - row.count("\\|") == 7  # six cells: the message's pipe is escaped
    assert "<br>" in row
    block = fenced(stack)
    assert block.startswith("`````\n")
    assert block.endswith("\n`````")
    assert f"\n{block}\n" in text


def line(**fields: Any) -> bytes:
    item = {
        "id": "01a24cc7859acf9f5a0700000000",
        "trace_id": "old",
        "system": "browser",
        "level": "info",
        "message": "hello",
        "timestamp": "2026-12-06T10:00:00.000Z",
        "received_at": "2026-12-06T10:00:00.000Z",
        **fields,
    }
    return msgspec.json.encode(item) + b"\n"


def test_markers_are_written_in_the_store_s_bytes_whatever_the_export_shape() -> None:
    """A drop marker from the JSON answer (ISO times, a message) and one from NDJSON (ms)
    become the bytes write_batch.lua writes; entries take the import's trace id, keeping their
    ids and times; an undecodable placeholder is skipped and counted."""
    answer = {
        "entries": [
            {"kind": "trimmed", "count": 2, "message": "2 older items trimmed"},
            msgspec.json.decode(line()),
            {
                "kind": "dropped",
                "count": 1,
                "by": {"global": 0, "system": 0, "trace": 1},
                "first": "2026-12-06T10:00:00.001Z",
                "last": "2026-12-06T10:00:00.002Z",
                "message": "1 entries dropped",
            },
            {"kind": "undecodable", "position": 3, "message": "undecodable item"},
        ]
    }
    result = imported_items(msgspec.json.encode(answer), "new", RULES, 10, 0)
    assert (result.entries, result.markers, result.skipped) == (1, 2, 1)
    assert result.items[0] == b'{"kind":"trimmed","count":2}'
    assert msgspec.json.decode(result.items[1])["trace_id"] == "new"
    assert msgspec.json.decode(result.items[1])["id"] == "01a24cc7859acf9f5a0700000000"
    assert result.items[2] == (
        b'{"kind":"dropped","count":1,"by":{"global":0,"system":0,"trace":1},'
        b'"first":1796551200001,"last":1796551200002}'
    )
    ndjson = b"".join(msgspec.json.encode(msgspec.json.decode(i)) + b"\n" for i in result.items)
    assert imported_items(ndjson, "new", RULES, 10, 0).items == result.items


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (line() + line(), "id", "appears twice"),
        (line() + b'{"kind":"trimmed","count":1}\n', "kind", "belongs first"),
        (line(message="m" * 101), "message", "longer than 100 bytes"),
        (line(user_id="u" * 300), "user_id", "256"),
        (line(context={"a": {"b": {"c": {"d": {"e": 1}}}}}), "context", "deeper than 4"),
        (line(extra={"nested": 1}), "extra", "must be text"),
        (line(level="warning"), "level", "level must be one of"),
        (b"[1, 2]\n", "body", "a JSON object"),
        (line(kind=None), "kind", "kind must be"),
        (line(release="not a release!"), "release", "release"),
        (line(user_id=42), "user_id", "must be text"),
    ],
)
def test_what_ingest_could_not_store_is_refused(body: bytes, field: str, words: str) -> None:
    """Each rule names the item and the field it broke."""
    with pytest.raises(ValidationError) as refused:
        imported_items(body, "t", RULES, 10, 0)
    assert refused.value.field == field
    assert words in refused.value.message
    assert refused.value.message.startswith("item ")


def test_a_message_ingest_cut_keeps_its_tail() -> None:
    """A truncated entry's message is its capped text plus ingest's tail: accepted as is."""
    cut = "m" * 100 + "… [truncated 50 bytes]"
    result = imported_items(line(message=cut, truncated=True), "t", RULES, 10, 0)
    assert msgspec.json.decode(result.items[0])["message"] == cut
