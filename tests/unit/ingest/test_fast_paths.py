"""The shortcuts of the ingest path (issue 27) give the answers of the long way: each one is
pinned at the edge where it hands over to the full check."""

from __future__ import annotations

import json
import os

import pytest

from tracesink.errors import ValidationError
from tracesink.ids import new_id
from tracesink.ingest.clock import OFFSET_FIELD, SENT_FIELD
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.servable import unservable_number
from tracesink.ingest.validate import EntryRules, decode_entry, prepare_entry

RULES = EntryRules(max_message_bytes=64, max_context_bytes=4096, max_context_depth=8)
NOW = 1_795_946_400_000
SENDER = Sender({"origin": "https://app.example"}, clock_ms=NOW - 60_000)


def stored(body: dict[str, object], sender: Sender = SENDER) -> bytes:
    entry = prepare_entry(decode_entry(json.dumps(body).encode()), RULES, sender, NOW)
    return entry.payload


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        (b'{"a":' + b"9" * 199 + b"}", None),  # 199 digits: below 1e308 whatever follows
        (b'{"a":' + b"9" * 309 + b"}", "9" * 20),  # long enough for the digit search
        (b"[" + b"9" * 400 + b"]", "9" * 20),
        (b'{"a":1e400}', "1e400"),  # short: only the exponent search runs
        (b'{"a":-2.5E+308}', "-2.5E+308"),
        (b'{"a":1e-400,"b":1e307}', None),  # tiny and large but finite
        (b'{"a":"1e400","b":"' + b"9" * 400 + b'"}', None),  # inside strings: not numbers
    ],
)
def test_big_numbers_are_found_on_either_side_of_the_length_gate(
    raw: bytes, found: str | None
) -> None:
    """The digit search runs only on text of 200 bytes or more, since a shorter one cannot
    hold 200 digits; the exponent search runs on everything."""
    written = unservable_number(raw)
    assert (written[: len(found)] if written and found else written) == found


def test_a_remembered_trace_id_never_lets_another_one_through() -> None:
    """The trace id checked last is remembered for the next entry; any other id, the empty
    one included, is matched against the rule again."""
    sender = Sender({})
    good = IncomingEntry(message="m", trace_id="checkout-42")
    prepare_entry(good, RULES, sender, NOW)
    prepare_entry(good, RULES, sender, NOW)
    for bad in ("", "checkout 42", "x" * 129, "checkout-42\n"):
        with pytest.raises(ValidationError) as caught:
            prepare_entry(IncomingEntry(message="m", trace_id=bad), RULES, sender, NOW)
        assert caught.value.field == "trace_id"


def test_ids_carry_the_millisecond_they_are_made_for_in_any_order() -> None:
    """The cached time prefix follows the time asked for, backwards as well as forwards."""
    later, earlier, again = new_id(NOW + 1), new_id(NOW), new_id(NOW)
    assert later.startswith(f"{NOW + 1:012x}")
    assert earlier.startswith(f"{NOW:012x}")
    assert again.startswith(f"{NOW:012x}")
    assert earlier < again
    assert len({later, earlier, again}) == 3


def test_every_optional_key_is_written_in_the_contract_order() -> None:
    """A Struct writes the stored keys in its fields' order and leaves out the absent ones:
    the same JSON, byte for byte, as the dict it replaced."""
    sender = Sender({"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}, clock_ms=NOW - 60_000)
    body = {
        "message": "x" * 100,
        "system": "mainframe",
        "user_id": 7,
        "stack": "at f",
        "release": "web@1.2.3",
        "timestamp": NOW - 60_000,
        "context": {"k": [1, 2]},
    }
    payload = stored(body, sender)
    keys = list(json.loads(payload))
    assert keys == [
        "id",
        "trace_id",
        "user_id",
        "system",
        "level",
        "message",
        "stack",
        "release",
        "timestamp",
        "received_at",
        SENT_FIELD,
        OFFSET_FIELD,
        "context",
        "truncated",
        "detected_by",
        "counted_as",
        "trace_id_from",
    ]
    assert b'"context":{"k": [1, 2]}' in payload  # the context's own bytes, as sent


def test_a_minimal_entry_writes_no_empty_keys() -> None:
    payload = stored({"trace_id": "t", "message": "m", "context": None})
    assert list(json.loads(payload)) == [
        "id",
        "trace_id",
        "system",
        "level",
        "message",
        "timestamp",
        "received_at",
        "detected_by",
    ]


def test_a_lone_surrogate_from_a_form_is_stored_as_a_replacement_character() -> None:
    """A str that JSON cannot encode (a form's or OTLP's, never a JSON body's) goes the way of
    ``servable``: the same keys, the broken character as U+FFFD."""
    incoming = IncomingEntry(message="half \ud83d of it", trace_id="t", user_id=3)
    entry = prepare_entry(incoming, RULES, SENDER, NOW)
    stored = json.loads(entry.payload)
    assert stored["message"] == "half \ufffd of it"
    assert list(stored)[:6] == ["id", "trace_id", "user_id", "system", "level", "message"]


def test_a_forked_worker_does_not_reuse_its_parents_cached_prefix() -> None:
    """``serve --workers N`` forks: the child's first id of a millisecond the parent has just
    used carries the child's own process part, not the cached one it inherited."""
    parent = new_id(NOW)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its id and leave at once, running nothing of pytest's
        os.write(write_end, new_id(NOW).encode())
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child[:12] == parent[:12]  # the same millisecond
    assert child[12:20] != parent[12:20]  # another process part


def test_an_id_is_its_time_process_and_counter_across_the_cached_heads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cached head (time, process, the counter's first six digits) is made again when the
    time or the counter's high digits change: every id is the one formatted in full, the
    counter's wrap at 2**32 included."""
    import itertools

    from tracesink import ids

    for start in (250, 0xFFFFFF80, 0x1234ABCD):
        monkeypatch.setattr(ids, "_COUNTER", itertools.count(start))
        times = [NOW + (k % 3 == 0) for k in range(600)]
        made = [new_id(ms) for ms in times]
        assert made == [
            f"{ms:012x}{ids._PROCESS}{(start + k) & 0xFFFFFFFF:08x}" for k, ms in enumerate(times)
        ]
