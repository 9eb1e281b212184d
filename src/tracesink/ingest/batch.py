"""``prepare_batch``: the entries of a ``POST /logs`` body prepared in one loop, with what they
share worked out once (issue 27, workload (b): 20 entries of one trace per request).

``prepare_entry`` (validate.py) stays the one definition of the wire contract. This loop is a
shortcut for the usual entry only: a known trace id, a level by name, a system as sent or
none, a message too short to truncate, a time that the sender's clock (if it sent one) does not
correct, a context that a few C calls clear; no ``user_id``, ``stack`` or ``release``, no
pinned system, no field of the rules file's. Any other entry is handed to ``prepare_entry``
whole, and so is one whose check fails, so that its error is the one the contract words
(tests/unit/ingest/test_batch.py pins the two ways to the same bytes). It checks what
``prepare_entry`` checks in the same order, so an entry with two faults is refused for the
same one.

Measured by callgrind (bench/prepare_entry.py --workload b: decode + prepare of an entry, the
route's loop of ``prepare_entry`` calls for the tree before): 38,487 -> 31,440 instructions with
this loop and servable.py's cheaper number pre-check; ~25,100 with the later levers (ids,
find instead of in, one bracket count).
"""

from __future__ import annotations

from typing import Any

from tracesink.errors import ValidationError
from tracesink.ids import new_id
from tracesink.ingest.clock import clock_offset
from tracesink.ingest.model import AS_SENT, IncomingEntry
from tracesink.ingest.sender import Sender
from tracesink.ingest.servable import (
    BIG_EXPONENT_VIEW,
    DIGIT_VIEW,
    LONG_NUMBER_BYTES,
    check_numbers,
)
from tracesink.ingest.stored import StoredEntry
from tracesink.ingest.timestamp import timestamp_ms
from tracesink.ingest.trace_context import TRACE_ID
from tracesink.ingest.validate import (
    _LABELS,
    _STORED_LEVEL,
    EntryRules,
    _check_context,
    _encode,
    _valid_trace_id,
    prepare_entry,
)
from tracesink.model import MANUAL, PreparedEntry
from tracesink.times import iso_ms

Rejected = dict[str, Any]


def prepare_batch(
    items: list[IncomingEntry | ValidationError], rules: EntryRules, sender: Sender, now_ms: int
) -> tuple[list[tuple[int, PreparedEntry]], list[Rejected]]:
    """Each item of ``decode_batch`` prepared, or refused: the (index, entry) pairs of the
    valid ones and the 400 items of the reply (``index``, ``reason``, ``field``, ``retryable``)
    for the others, in the order of the items, as ``post_logs`` answers them."""
    prepared: list[tuple[int, PreparedEntry]] = []
    rejected: list[Rejected] = []
    # What every entry shares: the shortcut applies only where none of it needs a per-entry rule.
    shortcut = sender.pinned is None and not AS_SENT
    clock_ms = sender.clock_ms
    received = iso_ms(now_ms)
    sender_label, sender_rule = sender.system, sender.system_rule
    systems, max_message = rules.systems, rules.max_message_bytes
    max_context, max_brackets = rules.max_context_bytes, rules.max_context_depth
    known_trace = _valid_trace_id[0]
    levels: dict[Any, str] = _STORED_LEVEL  # a level sent as a number is found in neither
    for index, item in enumerate(items):
        # Only an error's text outlives its `except`: a caught error holds a traceback to this
        # frame, which holds the body and every item, a cycle the tuned collector keeps for ever.
        if isinstance(item, ValidationError):
            reason, field = item.message, item.field
            rejected.append({"index": index, "reason": reason, "field": field, "retryable": False})
            continue
        try:
            trace_id = item.trace_id
            level = levels.get(item.level)
            given_system = item.system
            label: str | None
            if given_system is None:
                label, rule = sender_label, sender_rule
            else:
                label, rule = _LABELS.get(given_system), "body"
            message = item.message
            if (
                not shortcut
                or trace_id is None
                or level is None
                or label is None
                or len(message) * 4 > max_message
                or item.user_id is not None
                or item.stack is not None
                or item.release is not None
                or not (trace_id == known_trace or TRACE_ID.fullmatch(trace_id))
            ):
                prepared.append((index, prepare_entry(item, rules, sender, now_ms)))
                known_trace = _valid_trace_id[0]
                continue
            _valid_trace_id[0] = known_trace = trace_id
            sent = item.timestamp
            if sent is None:  # stamped by this clock: a sender's clock does not correct it
                timestamp = received
            else:
                sent_ms = timestamp_ms(sent)
                if clock_ms is not None and clock_offset(clock_ms, sent_ms, now_ms) is not None:
                    prepared.append((index, prepare_entry(item, rules, sender, now_ms)))
                    continue  # a time to correct, and two more keys: the long way
                timestamp = iso_ms(sent_ms)
            context: Any = item.context
            if context:
                raw = bytes(context)
                if raw == b"null":
                    context = None
                elif (
                    len(raw) <= max_context
                    and raw[0] == 0x7B  # `{`: an index, not a method call with arguments to parse
                    # Digits as 0, E + - as e, [ as { (servable.py): one copy for two checks.
                    and (view := raw.translate(DIGIT_VIEW)).count(b"{") <= max_brackets
                    and raw.isascii()
                ):
                    # All _check_context has left: the numbers, where servable.py's own
                    # pre-check (inlined: two calls less) does not rule a big one out.
                    if view.find(BIG_EXPONENT_VIEW) >= 0 or len(raw) >= LONG_NUMBER_BYTES:
                        check_numbers(raw, "context")
                else:
                    _check_context(raw, rules)
            else:
                context = None
            entry_id = new_id(now_ms)
            system = label if label in systems else MANUAL
            counted_as = None if system == label else system
            stored = StoredEntry(
                id=entry_id,
                trace_id=trace_id,
                system=label,
                level=level,
                message=message,
                timestamp=timestamp,
                received_at=received,
                context=context,
                detected_by=rule,
                counted_as=counted_as,
            )
            try:
                payload = _encode(stored)
            except UnicodeEncodeError:  # a lone surrogate (not from JSON): the long way's repair
                prepared.append((index, prepare_entry(item, rules, sender, now_ms)))
                continue
            entry = PreparedEntry(
                entry_id, trace_id, system, payload, None if counted_as is None else label
            )
            prepared.append((index, entry))
        except ValidationError as exc:
            reason, field = exc.message, exc.field
            rejected.append({"index": index, "reason": reason, "field": field, "retryable": False})
    return prepared, rejected
