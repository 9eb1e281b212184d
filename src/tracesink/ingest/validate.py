"""Parse and validate request bodies into ``PreparedEntry`` objects; errors name the field.

``prepare_entry`` is the whole wire contract for one entry; ``split_batch`` cuts a ``POST /logs``
body (JSON array or NDJSON, whatever the Content-Type says) into items that are validated one by
one, so that one bad item does not sink the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from tracesink.errors import ValidationError
from tracesink.ids import new_id
from tracesink.ingest.clock import OFFSET_FIELD, SENT_FIELD, clock_offset
from tracesink.ingest.detect import system_label
from tracesink.ingest.model import AS_SENT, IncomingEntry, KnownFieldsEntry
from tracesink.ingest.nesting import DEPTH_REPORTED, check_depth, max_depth, too_deep
from tracesink.ingest.sender import Sender
from tracesink.ingest.servable import check_numbers, servable, well_formed
from tracesink.ingest.stored import StoredEntry
from tracesink.ingest.stored import as_dict as stored_dict
from tracesink.ingest.timestamp import timestamp_ms
from tracesink.ingest.trace_context import TRACE_ID, TRACE_ID_RULE
from tracesink.model import (
    DEFAULT_SYSTEM_SHARES,
    LEVEL_ALIASES,
    LOG_LEVELS,
    MANUAL,
    NUMERIC_LEVELS,
    PreparedEntry,
)
from tracesink.rules import MAX_USER_ID_CHARS as MAX_USER_ID_CHARS
from tracesink.rules import RELEASE as RELEASE  # the pattern and its message: rules.json
from tracesink.rules import RELEASE_RULE as RELEASE_RULE
from tracesink.rules import message as error_text  # the messages are in rules.json
from tracesink.times import iso_ms

_FIELD_IN_MESSAGE = re.compile(r"`\$\.([A-Za-z_]+)|field `([A-Za-z_]+)`")
_check_syntax = msgspec.json.Decoder(msgspec.Raw).decode
_OUT_OF_RANGE = ("Number out of range", "Integer value out of range")
_decode_entry = msgspec.json.Decoder(IncomingEntry).decode
_decode_array = msgspec.json.Decoder(list[msgspec.Raw]).decode
# The fast path of a batch: entries of known fields only (an unknown field, skipped by msgspec
# but not by the depth rule, sends the batch down the path that checks everything).
_decode_known_entries = msgspec.json.Decoder(list[KnownFieldsEntry]).decode
_decode_known_entry = msgspec.json.Decoder(KnownFieldsEntry).decode
# A context shorter than this cannot nest past DEPTH_REPORTED (each level costs two brackets).
_SHALLOW_CONTEXT_BYTES = 2 * (DEPTH_REPORTED - 2)
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class EntryRules:
    max_message_bytes: int
    max_context_bytes: int
    max_context_depth: int
    # The configured systems, manual included (the default settings' unless given).
    systems: frozenset[str] = frozenset((*DEFAULT_SYSTEM_SHARES, MANUAL))


def decode_entry(body: bytes) -> IncomingEntry:
    """Decode a body of one entry (``POST /log``): a byte order mark ignored, lone surrogate
    escapes replaced (servable.py), deep nesting refused, then ``decode_item``."""
    body = well_formed(body)
    check_depth(body, "the entry")
    return decode_item(body)


def decode_item(raw: bytes | msgspec.Raw) -> IncomingEntry:
    """Decode one entry's JSON; malformed JSON, bad UTF-8 and wrong types all raise 400s."""
    try:
        return _decode_entry(raw)
    except msgspec.ValidationError as exc:
        _refuse_if_malformed(raw)  # msgspec checks types as it parses; JSON.parse parses first
        text = str(exc)
        found = _FIELD_IN_MESSAGE.search(text)
        field = (found.group(1) or found.group(2)) if found else None
        if field is None and text.startswith(_OUT_OF_RANGE):  # a bare number, read as a float
            text = "Expected `object`, got `float`"
        if field is None and text.startswith("Expected `object`"):
            text = error_text("not_an_object", detail=text)
        raise ValidationError(text, field=field) from None
    except msgspec.DecodeError as exc:
        raise ValidationError(error_text("body_json", detail=exc), field="body") from None
    except UnicodeDecodeError:
        raise ValidationError(error_text("body_utf8"), field="body") from None
    except RecursionError:
        raise too_deep(bytes(raw), "the entry") from None


def _refuse_if_malformed(raw: bytes | msgspec.Raw) -> None:
    """A type error in a body that is not JSON at all is reported as what the body is (the edge
    Worker's order); only bodies already refused pay for this second parse."""
    try:
        _check_syntax(raw)  # skipping checks the syntax only: 1e400 is not its business
    except RecursionError:
        pass
    except msgspec.DecodeError as exc:
        raise ValidationError(f"body is not valid JSON: {exc}", field="body") from None


def split_batch(body: bytes, max_items: int | None = None) -> list[bytes | msgspec.Raw]:
    """A batch body's items: a JSON array's elements, or NDJSON's non-blank lines; 413 when
    there are more than ``max_items``, before any item is decoded. A JSON array nested too
    deeply anywhere is refused whole (``check_depth``), an NDJSON line as that item's error."""
    stripped = well_formed(body).strip()
    if not stripped:
        raise ValidationError(error_text("batch_empty"), field="body")
    if stripped.startswith(b"["):
        check_depth(stripped, "the batch")
        try:
            items: list[bytes | msgspec.Raw] = list(_decode_array(stripped))
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise ValidationError(error_text("batch_array"), field="body") from None
        except UnicodeDecodeError:
            raise ValidationError(error_text("body_utf8"), field="body") from None
        except RecursionError:
            raise too_deep(stripped, "the batch") from None
    else:
        items = [line for line in stripped.split(b"\n") if line.strip()]
    if not items:
        raise ValidationError(error_text("batch_empty"), field="body")
    _check_count(len(items), max_items)
    return items


def _long_context(entries: list[KnownFieldsEntry]) -> bool:
    return any(len(entry.context) >= _SHALLOW_CONTEXT_BYTES for entry in entries)


def _check_count(count: int, max_items: int | None) -> None:
    if max_items is not None and count > max_items:
        raise ValidationError(
            error_text("batch_items", count=count, max=max_items),
            field="body",
            status=413,
        )


def decode_batch(
    body: bytes, max_items: int | None = None
) -> list[IncomingEntry | ValidationError]:
    """A batch body's entries, each decoded or the error that names what is wrong with it.

    The usual JSON array is all valid: it is decoded in one call, and only one with a bad item
    pays for decoding its items one by one, after its items have been counted (a body of
    ``[0,0,0,…]`` is refused for its count, not decoded item by item). NDJSON is decoded line by
    line: a line holding ``{…},{…}`` is one bad item, never two entries (joining the lines into
    an array would let an item span lines, or a line hold two).
    The errors returned are built, never raised: a raised one would carry a traceback, and through
    it this frame and the whole list, a cycle the tuned collector may never free.
    """
    body = well_formed(body)
    stripped = body.strip()
    known: list[KnownFieldsEntry] = []
    try:
        if stripped.startswith(b"["):
            known = _decode_known_entries(stripped)
            if _long_context(known):  # the one place an entry of known fields can nest
                check_depth(stripped, "the batch")  # (before the count, as split_batch does)
            _check_count(len(known), max_items)
        elif stripped:
            lines = [line for line in stripped.split(b"\n") if line.strip()]
            _check_count(len(lines), max_items)
            known = [_decode_known_entry(line) for line in lines]
            if _long_context(known):
                for line in lines:
                    check_depth(line, "the entry")  # (an error here: the slow path names it)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ValidationError) as exc:
        if isinstance(exc, ValidationError) and exc.status == 413:
            raise
        known = []
    if known:
        return list(known)
    entries: list[IncomingEntry | ValidationError] = []
    for item in split_batch(body, max_items):  # raises for an empty, unreadable or long batch
        entries.append(_decoded_or_error(item))
    return entries


def _decoded_or_error(item: bytes | msgspec.Raw) -> IncomingEntry | ValidationError:
    try:
        if isinstance(item, bytes):  # an NDJSON line (an array's items were checked with it)
            check_depth(item, "the entry")
        return decode_item(item)
    except ValidationError as exc:
        return ValidationError(exc.message, exc.field, exc.status)


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) * 4 <= limit:  # fast path: even all-4-byte characters would fit
        return text, False
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text, False
    kept = data[:limit].decode("utf-8", "ignore")  # drop a character cut in half
    return f"{kept}… [truncated {len(data) - len(kept.encode())} bytes]", True


def _check_context(raw: bytes, rules: EntryRules) -> None:
    """``raw`` is syntactically valid JSON (msgspec parsed it): check what it holds."""
    if not raw.startswith(b"{"):
        raise ValidationError(error_text("context_object"), field="context")
    if len(raw) > rules.max_context_bytes:
        raise ValidationError(
            error_text("context_bytes", max=rules.max_context_bytes), field="context"
        )
    limit = rules.max_context_depth
    # Every level of nesting opens a bracket, so few brackets bound the depth; a context with
    # more (some may sit inside strings) is measured as written, a duplicate key's overwritten
    # value included: it is stored, and the edge Worker measures the same text.
    if raw.count(b"{") + raw.count(b"[") > limit and max_depth(raw) > limit:
        raise ValidationError(error_text("context_depth", max=limit), field="context")
    # A skipped Raw value is not checked for UTF-8 by msgspec (a body is checked whole first; a
    # Raw built elsewhere is not). ASCII is UTF-8: the usual context skips building a str.
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(error_text("context_utf8"), field="context") from None
    check_numbers(raw, "context")  # nor for numbers no reader can decode (1e400)


# Every lower-case name and alias to the level it is stored as: the usual entry's level is found
# in one lookup, before any lower-casing.
_STORED_LEVEL = {**{level: level for level in LOG_LEVELS}, **LEVEL_ALIASES}


def log_level(given: str | int) -> str:
    """The stored level of a level as sent: a name, an alias, or a number of Python's logging."""
    if isinstance(given, str) and (known := _STORED_LEVEL.get(given)) is not None:
        return known
    if isinstance(given, int):
        if given < 0:
            raise ValidationError(error_text("level_negative"), field="level")
        return next(name for threshold, name in NUMERIC_LEVELS if given >= threshold)
    level = given.lower()
    level = LEVEL_ALIASES.get(level, level)
    if level not in LOG_LEVELS:
        raise ValidationError(
            error_text(
                "level",
                levels=", ".join(LOG_LEVELS),
                aliases=", ".join(LEVEL_ALIASES),
                given=repr(given),  # as the edge Worker quotes it too (pythonRepr)
            ),
            field="level",
        )
    return level


_LABELS: dict[str, str] = {}  # system as sent in a body -> its label, for the first few seen
_MAX_LABELS = 256


def _body_system(raw: str) -> str:
    """``system_label`` of a body's ``system``, remembered: a few names recur in every entry."""
    label = _LABELS.get(raw)
    if label is None:
        label = system_label(raw, "system")  # raises for a malformed one: never remembered
        if len(_LABELS) < _MAX_LABELS:
            _LABELS[raw] = label
    return label


# The trace id that last passed TRACE_ID: a batch's entries name one trace, checked once (a
# string comparison, not a regex match, for the other 19 of a 20-entry batch).
_valid_trace_id: list[str | None] = [None]


def prepare_entry(
    incoming: IncomingEntry, rules: EntryRules, sender: Sender, now_ms: int
) -> PreparedEntry:
    """Validate one decoded entry and build the JSON that is stored for it."""
    trace_from = None
    if incoming.trace_id is None:
        header = sender.trace_id()
        trace_id, trace_from = header.trace_id, header.source
    elif incoming.trace_id == _valid_trace_id[0] or TRACE_ID.fullmatch(incoming.trace_id):
        trace_id = incoming.trace_id
        _valid_trace_id[0] = trace_id
    else:
        raise ValidationError(TRACE_ID_RULE, field="trace_id")
    level = log_level(incoming.level)
    if sender.pinned is not None:
        if incoming.system is not None and system_label(incoming.system, "system") != sender.pinned:
            raise ValidationError(
                error_text("system_pinned", pinned=sender.pinned, given=incoming.system),
                field="system",
            )
        label, rule = sender.pinned, "ingest_key"
    elif incoming.system is None:
        label, rule = sender.system, sender.system_rule
    else:
        label, rule = _body_system(incoming.system), "body"
    system = label if label in rules.systems else MANUAL

    message, truncated = _truncate(incoming.message, rules.max_message_bytes)
    user_id = None
    if incoming.user_id is not None:
        user_id = str(incoming.user_id)
        if len(user_id) > MAX_USER_ID_CHARS:
            raise ValidationError(error_text("user_id", max=MAX_USER_ID_CHARS), field="user_id")
    stack = None
    if incoming.stack is not None:
        stack, stack_truncated = _truncate(incoming.stack, rules.max_message_bytes)
        truncated = truncated or stack_truncated
    if incoming.release is not None and not RELEASE.fullmatch(incoming.release):
        raise ValidationError(RELEASE_RULE, field="release")
    sent_ms = now_ms if incoming.timestamp is None else timestamp_ms(incoming.timestamp)
    offset = None if incoming.timestamp is None else clock_offset(sender.clock_ms, sent_ms, now_ms)
    context = incoming.context or None
    if context is not None:
        raw = bytes(context)
        if raw == b"null":
            context = None
        else:
            _check_context(raw, rules)
    entry_id = new_id(now_ms)
    # A Struct, not a dict: what is left None is not written (ingest/stored.py says why).
    stored = StoredEntry(
        id=entry_id,
        trace_id=trace_id,
        user_id=user_id,
        system=label,
        level=level,
        message=message,
        stack=stack,
        release=incoming.release,
        timestamp=iso_ms(sent_ms if offset is None else sent_ms + offset),
        received_at=iso_ms(now_ms),
        context=context,
        truncated=True if truncated else None,
        detected_by=rule,
        counted_as=None if system == label else system,
        trace_id_from=trace_from,
    )
    if offset is not None:  # the sender's clock was off: keep what it said, and by how much
        setattr(stored, SENT_FIELD, iso_ms(sent_ms))
        setattr(stored, OFFSET_FIELD, offset)
    for name in AS_SENT:  # fields the rules file adds, stored as sent (ingest/model.py)
        setattr(stored, name, getattr(incoming, name))
    try:
        payload = _encode(stored)
    except UnicodeEncodeError:  # a lone surrogate in a str from a form or OTLP: as in JSON, �
        payload = _encode(servable(stored_dict(stored)))
    return PreparedEntry(entry_id, trace_id, system, payload, None if system == label else label)
