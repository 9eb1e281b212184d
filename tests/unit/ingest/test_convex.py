"""Convex log-stream deliveries: signatures, events into entries, trace tags, legacy schema."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from tracesink.errors import AccessDenied, ValidationError
from tracesink.ingest.convex import parse_delivery, split_trace_tag, verify_signature

SECRET = "whsec-0123456789abcdef"  # noqa: S105 (a test secret)


def console(message: str, request_id: str = "d064ef901f7ec0b7", **extra: Any) -> dict[str, Any]:
    return {
        "topic": "console",
        "timestamp": 1715879172882,
        "function": {"path": "messages:send", "request_id": request_id, "type": "mutation"},
        "log_level": "LOG",
        "message": message,
        **extra,
    }


def body_of(*events: Any) -> bytes:
    return json.dumps(list(events)).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_correct_signature_passes_in_any_hex_case() -> None:
    """sha256=<hex of HMAC-SHA256(secret, raw body)>; upper-case hex is the same signature."""
    body = body_of(console("hi"))
    verify_signature(SECRET, body, signature(body))
    verify_signature(SECRET, body, signature(body).upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=00", "deadbeef", signature(b"[]"), signature(b'[{"x":1}]', "other-secret")],
)
def test_missing_or_wrong_signatures_are_refused(header: str | None) -> None:
    """401 naming x-webhook-signature: absent, empty, malformed, for another body or secret."""
    body = b'[{"x":1}]'
    with pytest.raises(AccessDenied) as refused:
        verify_signature(SECRET, body, header)
    assert (refused.value.status, refused.value.field) == (401, "x-webhook-signature")


def test_the_trace_tag_names_the_trace_and_leaves_the_message() -> None:
    """The first [trace:<id>] tag is the trace; it and one following space are removed."""
    assert split_trace_tag("'[trace:checkout-42] charged'") == ("checkout-42", "'charged'")
    assert split_trace_tag("no tag here") == (None, "no tag here")
    assert split_trace_tag("[trace:bad id] x") == (None, "[trace:bad id] x")


def test_console_events_become_convex_entries_with_their_level_and_time() -> None:
    """A console event: message, level, the event's time, system convex, the function as
    context; without a tag the request id is the trace."""
    delivery = parse_delivery(body_of(console("'[trace:t1] a'"), console("b", log_level="WARN")))
    first, second = (item.entry for item in delivery.entries)
    assert (first.trace_id, first.message, first.level, first.system) == (
        "t1",
        "'a'",
        "log",
        "convex",
    )
    assert first.timestamp == 1715879172882
    assert json.loads(bytes(first.context)) == {
        "topic": "console",
        "function_path": "messages:send",
        "function_type": "mutation",
        "request_id": "d064ef901f7ec0b7",
    }
    assert (second.trace_id, second.level) == ("d064ef901f7ec0b7", "warn")


def test_jsonl_is_read_like_an_array() -> None:
    """JSONL deliveries (one event per line) give the same entries as the array."""
    lines = b"\n".join(json.dumps(console(m)).encode() for m in ("a", "b")) + b"\n"
    assert [i.entry.message for i in parse_delivery(lines).entries] == ["a", "b"]


def test_other_topics_are_counted_not_failed() -> None:
    """verification, successful executions, audit logs, unknown topics, non-objects and events
    with no trace are counted by reason; the delivery still succeeds."""
    delivery = parse_delivery(
        body_of(
            {"topic": "verification", "timestamp": 1, "message": "hello"},
            {"topic": "function_execution", "status": "success", "function": {}},
            {"topic": "audit_log", "audit_log_action": "x"},
            {"topic": "something_new"},
            42,
            console("no trace", request_id=""),
            console("kept"),
        )
    )
    assert [i.entry.message for i in delivery.entries] == ["kept"]
    assert delivery.ignored == {
        "verification": 1,
        "function_execution": 1,
        "audit_log": 1,
        "something_new": 1,
        "malformed": 1,
        "untraced": 1,
    }


def test_a_failed_execution_is_an_error_entry_also_when_wrapped_in_data() -> None:
    """A failed function_execution (plain, or wrapped in {"data": …}) is an error entry."""
    failed = {
        "topic": "function_execution",
        "timestamp": 5,
        "function": {"path": "pay:charge", "type": "action", "request_id": "r1"},
        "status": "failure",
        "error_message": "card declined",
        "execution_time_ms": 12,
    }
    for event in (failed, {"data": failed}):
        [item] = parse_delivery(body_of(event)).entries
        assert (item.entry.level, item.entry.trace_id) == ("error", "r1")
        assert item.entry.message == "action pay:charge failed: card declined"


def test_legacy_events_are_read() -> None:
    """The pre-2024-05-23 schema (_topic, _timestamp, _functionPath …) makes the same entry."""
    legacy = {
        "_topic": "_console",
        "_timestamp": 7,
        "_functionPath": "messages:list",
        "_functionType": "query",
        "_functionRequestId": "abc123",
        "message": "'[trace:old] hi'",
    }
    [item] = parse_delivery(body_of(legacy)).entries
    assert (item.entry.trace_id, item.entry.message, item.entry.timestamp) == ("old", "'hi'", 7)


def test_repeated_events_have_the_same_key_whatever_the_batch_or_field_order() -> None:
    """An event's key depends on its content alone: key order and batch company do not matter."""
    event = console("x")
    reordered = dict(reversed(list(event.items())))
    one = parse_delivery(body_of(event)).entries[0].key
    two = parse_delivery(body_of(console("other"), reordered)).entries[1].key
    assert one == two
    assert one != parse_delivery(body_of(console("y"))).entries[0].key


@pytest.mark.parametrize("body", [b"", b"  \n", b"[1, 2", b"[\xff]"])
def test_an_unreadable_delivery_is_a_400(body: bytes) -> None:
    """An empty body or a broken JSON array is refused as a whole, naming the body."""
    with pytest.raises(ValidationError) as refused:
        parse_delivery(body)
    assert refused.value.field == "body"


def test_a_console_line_cut_inside_an_emoji_is_kept_with_a_replacement_character() -> None:
    """A lone surrogate escape in an event (JSON.stringify of a string cut mid-emoji) is read as
    U+FFFD, as the JSON routes read it: the event becomes its entry, not a malformed one."""
    body = body_of(console("cut \ud83d"), console("whole \U0001f600"))
    assert b"\\ud83d" in body  # json.dumps escapes the lone surrogate as Convex does
    delivery = parse_delivery(body)
    assert [i.entry.message for i in delivery.entries] == ["cut \ufffd", "whole \U0001f600"]
    assert delivery.ignored == {}
