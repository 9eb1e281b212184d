"""``prepare_batch`` (ingest/batch.py) answers what ``post_logs``'s loop of ``prepare_entry``
calls answered: the same entries, the same stored bytes (the id aside), the same refusals in the
same order, for the shared vectors' bodies and for entries at each edge where the shortcut hands
over to ``prepare_entry``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.batch import prepare_batch
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, decode_batch, prepare_entry

NOW = 1_795_946_400_000
VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "ingest.json"
RULES = [
    EntryRules(max_message_bytes=16384, max_context_bytes=16384, max_context_depth=8),
    EntryRules(max_message_bytes=32, max_context_bytes=40, max_context_depth=2),
    EntryRules(
        max_message_bytes=64,
        max_context_bytes=4096,
        max_context_depth=3,
        systems=frozenset({"python", "manual"}),
    ),
]
_ID = re.compile(rb'"id":"[0-9a-f]{28}"')


def route_loop(
    items: list[IncomingEntry | ValidationError], rules: EntryRules, sender: Sender
) -> tuple[list[Any], list[dict[str, Any]]]:
    """``post_logs``'s loop before ``prepare_batch``, entries as comparable tuples."""
    prepared, rejected = [], []
    for index, item in enumerate(items):
        if isinstance(item, ValidationError):
            reason, field = item.message, item.field
        else:
            try:
                prepared.append((index, prepare_entry(item, rules, sender, NOW)))
                continue
            except ValidationError as exc:
                reason, field = exc.message, exc.field
        rejected.append({"index": index, "reason": reason, "field": field, "retryable": False})
    return [comparable(pair) for pair in prepared], rejected


def comparable(pair: tuple[int, Any]) -> tuple[Any, ...]:
    index, entry = pair
    assert re.fullmatch(r"[0-9a-f]{28}", entry.id)
    payload = _ID.sub(b'"id":"<id>"', entry.payload, count=1)
    return index, entry.trace_id, entry.system, entry.unknown_system, payload


def assert_same(body: bytes, rules: EntryRules, sender: Callable[[], Sender]) -> None:
    """``sender`` makes one per loop: a Sender remembers the header it read (and its fault)."""
    try:
        items = decode_batch(body)
        sender()
    except ValidationError:
        return  # the body or the headers refused whole, before either loop
    prepared, rejected = prepare_batch(items, rules, sender(), NOW)
    made = [entry.id for _, entry in prepared]
    assert made == sorted(made)  # in the items' order, whichever way each went
    assert ([comparable(pair) for pair in prepared], rejected) == route_loop(items, rules, sender())


def vector_bodies() -> list[tuple[bytes, dict[str, str]]]:
    found = []
    for group in json.loads(VECTORS.read_text())["groups"]:
        for case in group["cases"]:
            request = case["request"]
            if request.get("method") != "POST" or request["path"].split("?")[0] not in (
                "/log",
                "/logs",
            ):
                continue
            if "body_text" in request:
                given = request["body_text"]  # text, or [text, times] parts (a deep body)
                text = given if isinstance(given, str) else "".join(t * n for t, n in given)
                body = text.encode()
            elif "body" in request:
                body = json.dumps(request["body"]).encode()
            else:
                continue
            headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
            found.append((body, headers))
    return found


@pytest.mark.parametrize("rules", RULES)
def test_the_vectors_bodies_give_the_same_entries_and_refusals(rules: EntryRules) -> None:
    bodies = vector_bodies()
    assert len(bodies) > 40
    for body, headers in bodies:
        for sender in (
            lambda: Sender(headers),  # noqa: B023 (called at once, in this iteration)
            lambda: Sender(headers, clock_ms=NOW - 60_000),  # noqa: B023
        ):
            assert_same(body, rules, sender)
            assert_same(b"[" + body + b"," + body + b"]", rules, sender)  # /log's as a batch


EDGES: list[dict[str, Any]] = [
    {"trace_id": "t-1", "message": "m"},
    {"trace_id": "t-1", "message": "m", "level": "WARN", "system": "Browser"},
    {"trace_id": "t-2", "message": "m", "level": "warning", "system": "python"},
    {"trace_id": "t-2", "message": "m", "level": 35},
    {"trace_id": "t-2", "message": "m", "level": -1},
    {"trace_id": "t-2", "message": "m", "level": "loud"},
    {"trace_id": "t 2", "message": "m", "level": "loud"},  # two faults: the trace id's first
    {"trace_id": "", "message": "m"},
    {"message": "from the header"},
    {"trace_id": "t-3", "message": "x" * 8, "system": "mainframe"},
    {"trace_id": "t-3", "message": "x" * 9, "system": "no such system!"},
    {"trace_id": "t-3", "message": "é" * 8},
    {"trace_id": "t-3", "message": "é" * 40},
    {"trace_id": "t-3", "message": "m", "user_id": 7, "stack": "at f", "release": "web@1"},
    {"trace_id": "t-3", "message": "m", "release": "bad release!"},
    {"trace_id": "t-3", "message": "m", "timestamp": NOW - 1000},
    {"trace_id": "t-3", "message": "m", "timestamp": 1_795_946_399.5},
    {"trace_id": "t-3", "message": "m", "timestamp": "2026-12-07T00:00:00.123+01:00"},
    {"trace_id": "t-3", "message": "m", "timestamp": "yesterday"},
    {"trace_id": "t-3", "message": "m", "timestamp": -5},
    {"trace_id": "t-3", "message": "m", "timestamp": 1e300},
    {"trace_id": "t-4", "message": "m", "context": None},
    {"trace_id": "t-4", "message": "m", "context": {}},
    {"trace_id": "t-4", "message": "m", "context": [1]},
    {"trace_id": "t-4", "message": "m", "context": "text"},
    {"trace_id": "t-4", "message": "m", "context": {"a": {"b": {"c": {}}}}},
    {"trace_id": "t-4", "message": "m", "context": {"a": "{{{{[[[["}},
    {"trace_id": "t-4", "message": "m", "context": {"a": "x" * 50}},
    {"trace_id": "t-4", "message": "m", "context": {"naïve": "ünïcode"}},
    {"trace_id": "t-4", "message": "m", "context": {"line": 118, "e": "e+123 file123"}},
    {"trace_id": "t-4", "message": "m", "context": {"a": 1e300, "b": -2.5e-300}},
    {"trace_id": "t-4", "message": "m", "level": "loud", "context": {"a": 1}},
]
RAW_EDGES = [
    b'{"trace_id":"t-5","message":"m","context":{"a":1e400}}',
    b'{"trace_id":"t-5","message":"m","context":{"a":-2.5E+308}}',
    b'{"trace_id":"t-5","message":"m","context":{"a":' + b"9" * 310 + b"}}",
    b'{"trace_id":"t-5","message":"m","context":{"a":"\\ud83d half"}}',
    b'{"trace_id":"t-5","message":"\\ud83d half"}',
    b'{"trace_id":"t-5","message":"m","timestamp":1e400}',
]


@pytest.mark.parametrize("rules", RULES)
def test_entries_at_each_edge_of_the_shortcut_give_the_same_answers(rules: EntryRules) -> None:
    senders: list[Callable[[], Sender]] = [
        lambda: Sender({}),
        lambda: Sender({"x-trace-id": "header-trace", "x-log-system": "python"}),
        lambda: Sender({"traceparent": "00-bad"}),
        lambda: Sender({}, pinned="browser"),
        lambda: Sender({}, clock_ms=NOW - 60_000),
    ]
    bodies = [json.dumps(entry).encode() for entry in EDGES] + RAW_EDGES
    for sender in senders:
        for body in bodies:
            assert_same(b"[" + body + b"]", rules, sender)
            assert_same(body, rules, sender)  # NDJSON: one line
        assert_same(b"[" + b",".join(bodies) + b"]", rules, sender)
        assert_same(b"\n".join(bodies), rules, sender)


def test_items_built_elsewhere_get_the_full_checks() -> None:
    """A context that is not UTF-8 or a str JSON cannot encode never comes out of
    ``decode_batch``, but an item built in Python may hold one: the answers stay the same."""
    import msgspec

    items: list[IncomingEntry | ValidationError] = [
        IncomingEntry(message="m", trace_id="t-6", context=msgspec.Raw(b'{"a":"\xff"}')),
        IncomingEntry(message="half \ud83d", trace_id="t-6"),
        IncomingEntry(message="m", trace_id="t-6", context=msgspec.Raw(b'{"a":"\xc3\xa9"}')),
        ValidationError("refused before", field="body"),
        IncomingEntry(message="m", trace_id="t-6"),
    ]
    for rules in RULES:
        prepared, rejected = prepare_batch(items, rules, Sender({}), NOW)
        assert ([comparable(pair) for pair in prepared], rejected) == route_loop(
            items, rules, Sender({})
        )


def test_the_usual_entry_takes_the_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the comparisons above cover is the shortcut, not only the hand-over."""
    from tracesink.ingest import batch

    handed_over: list[object] = []
    monkeypatch.setattr(batch, "prepare_entry", lambda *args: handed_over.append(args))
    body = json.dumps(
        [
            {"trace_id": "t-7", "message": "m", "level": "info", "system": "browser"},
            {"trace_id": "t-7", "message": "m", "context": {"line": 118}, "timestamp": NOW},
        ]
    ).encode()
    first = decode_batch(body)[0]
    assert isinstance(first, IncomingEntry)
    prepare_entry(first, RULES[0], Sender({}), NOW)  # the system's label now known
    prepared, rejected = prepare_batch(decode_batch(body), RULES[0], Sender({}), NOW)
    assert (len(prepared), rejected, handed_over) == (2, [], [])
    # A sender's clock that corrects no time (the entry's own is close enough to it) neither.
    in_step = Sender({}, clock_ms=NOW - 5)
    prepared, rejected = prepare_batch(decode_batch(body), RULES[0], in_step, NOW)
    assert (len(prepared), rejected, handed_over) == (2, [], [])
