"""Parse and validate request bodies into ``PreparedEntry`` objects; errors name the field.

``prepare_entry`` is the whole wire contract for one entry; ``split_batch`` cuts a ``POST /logs``
body (JSON array or NDJSON, whatever the Content-Type says) into items that are validated one by
one, so that one bad item does not sink the others.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from tracesink.errors import ValidationError
from tracesink.ids import new_id
from tracesink.ingest.clock import clock_offset
from tracesink.ingest.detect import system_label
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.nesting import too_deep
from tracesink.ingest.sender import Sender
from tracesink.ingest.trace_context import TRACE_ID, TRACE_ID_RULE
from tracesink.model import (
    DEFAULT_SYSTEM_SHARES,
    LEVEL_ALIASES,
    LOG_LEVELS,
    MANUAL,
    NUMERIC_LEVELS,
    PreparedEntry,
)
from tracesink.times import iso_ms

MAX_USER_ID_CHARS = 256
_FIELD_IN_MESSAGE = re.compile(r"`\$\.([A-Za-z_]+)|field `([A-Za-z_]+)`")
_decode_entry = msgspec.json.Decoder(IncomingEntry).decode
_decode_array = msgspec.json.Decoder(list[msgspec.Raw]).decode
_decode_entries = msgspec.json.Decoder(list[IncomingEntry]).decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class EntryRules:
    max_message_bytes: int
    max_context_bytes: int
    max_context_depth: int
    # The configured systems, manual included (the default settings' unless given).
    systems: frozenset[str] = frozenset((*DEFAULT_SYSTEM_SHARES, MANUAL))


def decode_entry(raw: bytes | msgspec.Raw) -> IncomingEntry:
    """Decode one entry's JSON; malformed JSON, bad UTF-8 and wrong types all raise 400s."""
    try:
        return _decode_entry(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)
        found = _FIELD_IN_MESSAGE.search(text)
        field = (found.group(1) or found.group(2)) if found else None
        if field is None and text.startswith("Expected `object`"):
            text = "an entry must be a JSON object; " + text
        raise ValidationError(text, field=field) from None
    except msgspec.DecodeError as exc:
        raise ValidationError(f"body is not valid JSON: {exc}", field="body") from None
    except UnicodeDecodeError:
        raise ValidationError("body is not valid UTF-8", field="body") from None
    except RecursionError:
        raise too_deep(bytes(raw), "the entry") from None


def split_batch(body: bytes, max_items: int | None = None) -> list[bytes | msgspec.Raw]:
    """A batch body's items: a JSON array's elements, or NDJSON's non-blank lines; 413 when
    there are more than ``max_items``, before any item is decoded."""
    stripped = body.strip()
    if not stripped:
        raise ValidationError("the batch holds no entries", field="body")
    if stripped.startswith(b"["):
        try:
            items: list[bytes | msgspec.Raw] = list(_decode_array(stripped))
        except (msgspec.ValidationError, msgspec.DecodeError):
            raise ValidationError("body is not a valid JSON array", field="body") from None
        except UnicodeDecodeError:
            raise ValidationError("body is not valid UTF-8", field="body") from None
        except RecursionError:
            raise too_deep(stripped, "the batch") from None
    else:
        items = [line for line in stripped.split(b"\n") if line.strip()]
    if not items:
        raise ValidationError("the batch holds no entries", field="body")
    _check_count(len(items), max_items)
    return items


def _check_count(count: int, max_items: int | None) -> None:
    if max_items is not None and count > max_items:
        raise ValidationError(
            f"the batch holds {count} entries; at most {max_items} (TRACESINK_MAX_BATCH_ITEMS)",
            field="body",
            status=413,
        )


def decode_batch(
    body: bytes, max_items: int | None = None
) -> list[IncomingEntry | ValidationError]:
    """A batch body's entries, each decoded or the error that names what is wrong with it.

    The usual batch is all valid: it is decoded in one call (NDJSON joined into an array first),
    and only a batch with a bad item pays for decoding its items one by one, after its items
    have been counted (a body of ``[0,0,0,…]`` is refused for its count, not decoded item by item).
    The errors returned are built, never raised: a raised one would carry a traceback, and through
    it this frame and the whole list, a cycle the tuned collector may never free.
    """
    stripped = body.strip()
    if stripped.startswith(b"["):
        whole = stripped
    else:
        lines = [line for line in stripped.split(b"\n") if line.strip()]
        _check_count(len(lines), max_items)
        whole = b"[" + b",".join(lines) + b"]"
    try:
        entries: list[IncomingEntry | ValidationError] = list(_decode_entries(whole))
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        entries = []
    if entries:
        _check_count(len(entries), max_items)
        return entries
    for item in split_batch(body, max_items):  # raises for an empty, unreadable or long batch
        entries.append(_decoded_or_error(item))
    return entries


def _decoded_or_error(item: bytes | msgspec.Raw) -> IncomingEntry | ValidationError:
    try:
        return decode_entry(item)
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


def _depth(value: Any, limit: int, depth: int = 1) -> int:
    """Nesting depth of a decoded JSON value, counting stops once past ``limit``."""
    if depth > limit:
        return depth
    children = value.values() if isinstance(value, dict) else value
    nested = [child for child in children if isinstance(child, dict | list)]
    return max((_depth(child, limit, depth + 1) for child in nested), default=depth)


def _check_context(raw: bytes, rules: EntryRules) -> None:
    """``raw`` is syntactically valid JSON (msgspec parsed it): check what it holds."""
    if not raw.startswith(b"{"):
        raise ValidationError("context must be a JSON object", field="context")
    if len(raw) > rules.max_context_bytes:
        raise ValidationError(
            f"context is larger than {rules.max_context_bytes} bytes as JSON", field="context"
        )
    limit = rules.max_context_depth
    # Every level of nesting opens a bracket, so few brackets bound the depth without decoding;
    # only a context with more (some may sit inside strings) is decoded and measured.
    if (
        raw.count(b"{") + raw.count(b"[") > limit
        and _depth(msgspec.json.decode(raw), limit) > limit
    ):
        raise ValidationError(f"context is nested deeper than {limit} levels", field="context")
    try:
        raw.decode("utf-8")  # a skipped Raw value is not checked for UTF-8 by msgspec
    except UnicodeDecodeError:
        raise ValidationError("context is not valid UTF-8", field="context") from None


def _timestamp_ms(value: float | str) -> int:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                "timestamp must be milliseconds since the epoch or an ISO 8601 string",
                field="timestamp",
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = round(moment.timestamp() * 1000)
    else:
        if not math.isfinite(value) or value < 0:
            raise ValidationError("timestamp must be a positive number", field="timestamp")
        # Below 1e11 a number is seconds (Python's time.time()), above it milliseconds (Date.now()).
        ms = round(value * 1000) if value < 1e11 else round(value)
    if not 0 <= ms < 253402300800000:  # before year 10000: what ISO 8601 strings can show
        raise ValidationError("timestamp is out of range", field="timestamp")
    return ms


# Every lower-case name and alias to the level it is stored as: the usual entry's level is found
# in one lookup, before any lower-casing.
_STORED_LEVEL = {**{level: level for level in LOG_LEVELS}, **LEVEL_ALIASES}


def log_level(given: str | int) -> str:
    """The stored level of a level as sent: a name, an alias, or a number of Python's logging."""
    if isinstance(given, str) and (known := _STORED_LEVEL.get(given)) is not None:
        return known
    if isinstance(given, int):
        if given < 0:
            raise ValidationError("level must not be a negative number", field="level")
        return next(name for threshold, name in NUMERIC_LEVELS if given >= threshold)
    level = given.lower()
    level = LEVEL_ALIASES.get(level, level)
    if level not in LOG_LEVELS:
        raise ValidationError(
            f"level must be one of {', '.join(LOG_LEVELS)}, an alias "
            f"({', '.join(LEVEL_ALIASES)}) or a logging number, got {given!r}",
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


def prepare_entry(
    incoming: IncomingEntry, rules: EntryRules, sender: Sender, now_ms: int
) -> PreparedEntry:
    """Validate one decoded entry and build the JSON that is stored for it."""
    trace_from = None
    if incoming.trace_id is None:
        header = sender.trace_id()
        trace_id, trace_from = header.trace_id, header.source
    elif TRACE_ID.fullmatch(incoming.trace_id):
        trace_id = incoming.trace_id
    else:
        raise ValidationError(TRACE_ID_RULE, field="trace_id")
    level = log_level(incoming.level)
    if sender.pinned is not None:
        if incoming.system is not None and system_label(incoming.system, "system") != sender.pinned:
            raise ValidationError(
                f"this ingest key logs as system {sender.pinned} only, not {incoming.system}",
                field="system",
            )
        label, rule = sender.pinned, "ingest_key"
    elif incoming.system is None:
        label, rule = sender.system, sender.system_rule
    else:
        label, rule = _body_system(incoming.system), "body"
    system = label if label in rules.systems else MANUAL

    message, truncated = _truncate(incoming.message, rules.max_message_bytes)
    entry: dict[str, Any] = {"id": new_id(now_ms), "trace_id": trace_id}
    if incoming.user_id is not None:
        user_id = str(incoming.user_id)
        if len(user_id) > MAX_USER_ID_CHARS:
            raise ValidationError(
                f"user_id must be at most {MAX_USER_ID_CHARS} characters", field="user_id"
            )
        entry["user_id"] = user_id
    entry.update(system=label, level=level, message=message)
    if incoming.stack is not None:
        stack, stack_truncated = _truncate(incoming.stack, rules.max_message_bytes)
        entry["stack"] = stack
        truncated = truncated or stack_truncated
    sent_ms = now_ms if incoming.timestamp is None else _timestamp_ms(incoming.timestamp)
    offset = None if incoming.timestamp is None else clock_offset(sender.clock_ms, sent_ms, now_ms)
    entry["timestamp"] = iso_ms(sent_ms if offset is None else sent_ms + offset)
    entry["received_at"] = iso_ms(now_ms)
    if offset is not None:  # the sender's clock was off: keep what it said, and by how much
        entry.update(sent_timestamp=iso_ms(sent_ms), clock_offset_ms=offset)
    if incoming.context:
        context = bytes(incoming.context)
        if context != b"null":
            _check_context(context, rules)
            entry["context"] = incoming.context
    if truncated:
        entry["truncated"] = True
    entry["detected_by"] = rule
    if system != label:
        entry["counted_as"] = system
    if trace_from is not None:
        entry["trace_id_from"] = trace_from
    return PreparedEntry(
        entry["id"], trace_id, system, _encode(entry), None if system == label else label
    )
