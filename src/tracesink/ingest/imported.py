"""An exported trace, read back for an import (``PUT /logs/{trace_id}``): its items validated
and made into the bytes a trace's list holds.

An import is not ingest (docs/reading.md, "Export and import"), but what ingest could not store,
import cannot either: every entry goes through ``prepare_entry`` (level, system, user_id,
timestamp, context size, depth and numbers) and the message and stack caps, and keeps what ingest
gave it (its id, times, system, detection) rather than getting new ones. Markers are rebuilt
in the exact bytes the store writes them in (write_batch.lua, ``store/base.py``), so the scripts
recognise them; a placeholder for an item the exporting reader could not decode is skipped
(its bytes are not in the export) and counted.

The body is what ``GET /logs/{trace_id}`` exports: NDJSON (one stored item per line), or the
JSON answer (``{"entries": [...]}``, markers rendered with ISO times and a message).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tracesink.errors import ValidationError
from tracesink.ingest.nesting import check_depth
from tracesink.ingest.sender import Sender
from tracesink.ingest.servable import check_numbers, well_formed
from tracesink.ingest.timestamp import iso_ms
from tracesink.ingest.validate import EntryRules, decode_item, prepare_entry
from tracesink.limits import LIMIT_LEVELS
from tracesink.model import LOG_LEVELS
from tracesink.read_filter import ENTRY_ID, ENTRY_ID_RULE
from tracesink.rules import FIELDS
from tracesink.store.items import DROPPED, MAX_MS, TRIMMED, UNDECODABLE

# The fields ingest writes and this module checks; any other is carried over when it is a small
# scalar (what ingest adds about an entry: detected_by, counted_as, truncated, …).
_CHECKED = frozenset(
    [
        "id",
        "trace_id",
        "user_id",
        "system",
        "level",
        "message",
        "stack",
        "timestamp",
        "received_at",
        "context",
    ]
)
MAX_EXTRA_FIELDS = 32
MAX_EXTRA_NAME_CHARS = 64
MAX_EXTRA_TEXT_CHARS = 1024
# What ``validate._truncate`` appends to a message it cut: not counted against the cap.
_TRUNCATED_TAIL = re.compile(r"… \[truncated [0-9]+ bytes\]\Z")
_IMPORT_SENDER_RULE = ("manual", "import")  # never used: every imported entry names its system
_encode = msgspec.json.encode
_decode = msgspec.json.decode


@dataclass(slots=True)
class ImportedTrace:
    items: list[bytes] = field(default_factory=list)  # oldest first, as a list stores them
    entries: int = 0
    markers: int = 0
    skipped: int = 0  # placeholders of undecodable items: nothing to restore


def imported_items(
    body: bytes, trace_id: str, rules: EntryRules, max_items: int, now_ms: int
) -> ImportedTrace:
    """The items of an export, validated for the trace ``trace_id`` (each entry's ``trace_id``
    becomes it); 400 naming the item and field for the first bad one, 413 beyond ``max_items``."""
    raw_items = _split(body, max_items)
    sender = Sender({}, detected=_IMPORT_SENDER_RULE)
    result = ImportedTrace()
    seen: set[str] = set()
    for number, item in enumerate(raw_items, start=1):
        try:
            _add(result, item, trace_id, rules, sender, now_ms, seen)
        except ValidationError as exc:
            raise ValidationError(f"item {number}: {exc.message}", exc.field, exc.status) from None
    if not result.items:
        raise ValidationError("the export holds no entries or markers to import", field="body")
    return result


def _too_many(count: int, max_items: int) -> None:
    if count > max_items:
        raise ValidationError(
            f"the export holds {count} items; a trace keeps at most {max_items} "
            "(TRACESINK_MAX_TRACE_ENTRIES)",
            field="body",
            status=413,
        )


def _split(body: bytes, max_items: int) -> list[Any]:
    """The decoded items: the JSON answer's ``entries``, else one per NDJSON line (counted
    before they are decoded)."""
    body = well_formed(body)  # UTF-8, no BOM, lone surrogate escapes as U+FFFD (as ingest)
    check_numbers(body, "body")
    stripped = body.strip()
    if not stripped:
        raise ValidationError("the body is empty: send an export (NDJSON or JSON)", field="body")
    if stripped.startswith(b"# "):
        raise ValidationError(
            "this is a Markdown report, which is for reading: import an NDJSON export "
            "(tracesink export ID, or GET /logs/{id}?format=ndjson)",
            field="body",
        )
    check_depth(stripped, "the export")
    try:
        # The JSON answer (one document, pretty-printed or not) or a one-line NDJSON; NDJSON of
        # more lines fails at the end of its first item, so this costs one item's parse.
        document = _decode(stripped)
    except msgspec.DecodeError:
        pass
    else:
        if isinstance(document, dict) and isinstance(document.get("entries"), list):
            _too_many(len(document["entries"]), max_items)
            return list(document["entries"])
        return [document]
    lines = [line for line in stripped.split(b"\n") if line.strip()]
    _too_many(len(lines), max_items)
    return [_decoded(line, f"line {n}") for n, line in enumerate(lines, start=1)]


def _decoded(raw: bytes, where: str) -> Any:
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        raise ValidationError(f"{where} is not valid JSON: {exc}", field="body") from None


def _add(
    result: ImportedTrace,
    item: Any,
    trace_id: str,
    rules: EntryRules,
    sender: Sender,
    now_ms: int,
    seen: set[str],
) -> None:
    if not isinstance(item, dict):
        raise ValidationError("an item must be a JSON object", field="body")
    kind = item.get("kind")
    if "kind" not in item:  # (an entry with "kind": null would read as no entry at all)
        entry = _entry(item, trace_id, rules, sender, now_ms)
        if entry["id"] in seen:
            raise ValidationError(f"id {entry['id']} appears twice", field="id")
        seen.add(entry["id"])
        result.items.append(_encode(entry))
        result.entries += 1
    elif kind == UNDECODABLE:
        result.skipped += 1
    elif kind == DROPPED:
        result.items.append(_dropped(item))
        result.markers += 1
    elif kind == TRIMMED:
        if result.items:
            raise ValidationError("a trimmed marker belongs first (the oldest end)", "kind")
        result.items.append(_trimmed(item))
        result.markers += 1
    else:
        raise ValidationError(
            f"kind must be {DROPPED}, {TRIMMED} or {UNDECODABLE} (none for an entry)", "kind"
        )


def _count(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_MS:
        raise ValidationError(f"{name} must be a whole number from 0", field=name)
    return value


def _time(value: Any, name: str) -> int:
    """A marker's time: milliseconds (NDJSON, as stored) or ISO 8601 (the JSON answer)."""
    if isinstance(value, str):
        try:
            return iso_ms(value)
        except ValidationError:
            raise ValidationError(f"{name} must be an ISO 8601 time or ms", field=name) from None
    return _count(value, name)


def _dropped(item: dict[str, Any]) -> bytes:
    by = item.get("by")
    if not isinstance(by, dict) or not set(by) <= set(LIMIT_LEVELS):
        raise ValidationError(f"by must map {', '.join(LIMIT_LEVELS)} to counts", field="by")
    marker = {
        "kind": DROPPED,
        "count": _count(item.get("count"), "count"),
        "by": {level: _count(by.get(level, 0), f"by.{level}") for level in LIMIT_LEVELS},
        "first": _time(item.get("first"), "first"),
        "last": _time(item.get("last"), "last"),
    }
    return _encode(marker)  # the bytes write_batch.lua's encode_marker writes


def _trimmed(item: dict[str, Any]) -> bytes:
    return _encode({"kind": TRIMMED, "count": _count(item.get("count"), "count")})


def _text(item: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = item.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text", field=name)
    return value


def _capped(text: str | None, name: str, item: dict[str, Any], rules: EntryRules) -> str | None:
    """``text`` within the message cap as ingest stores it (a cut one keeps ingest's tail)."""
    if text is None:
        return None
    kept = _TRUNCATED_TAIL.sub("", text) if item.get("truncated") is True else text
    if len(kept.encode("utf-8", "surrogatepass")) > rules.max_message_bytes:
        raise ValidationError(
            f"{name} is longer than {rules.max_message_bytes} bytes "
            "(TRACESINK_MAX_MESSAGE_BYTES): ingest would have cut it",
            field=name,
        )
    return kept


def _entry(
    item: dict[str, Any], trace_id: str, rules: EntryRules, sender: Sender, now_ms: int
) -> dict[str, Any]:
    entry_id = _text(item, "id")
    if entry_id is None or not ENTRY_ID.fullmatch(entry_id):
        raise ValidationError(f"id must be {ENTRY_ID_RULE}", field="id")
    level = _text(item, "level")
    if level not in LOG_LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LOG_LEVELS)}", field="level")
    received_at = _text(item, "received_at")
    try:
        iso_ms(received_at or "")
    except ValidationError:
        raise ValidationError("received_at must be an ISO 8601 time", "received_at") from None
    if "user_id" in item and not isinstance(item["user_id"], str):  # ingest stores it as text
        raise ValidationError("user_id must be text", field="user_id")
    # The ingest rules, all of them: what ingest could not store, import cannot either. The
    # entry's fields as a client would send them go through ingest's own decoder (types, the
    # rules file's fields) and ``prepare_entry`` (values); what it builds is not kept.
    sent = {name: item[name] for name in FIELDS if name in item and item[name] is not None}
    sent.update(trace_id=trace_id, level=level, system=_text(item, "system"))
    sent["message"] = _capped(_text(item, "message"), "message", item, rules)
    if "stack" in sent:
        sent["stack"] = _capped(_text(item, "stack"), "stack", item, rules)
    prepare_entry(decode_item(_encode(sent)), rules, sender, now_ms)
    extras = [name for name in item if name not in _CHECKED and name not in FIELDS]
    if len(extras) > MAX_EXTRA_FIELDS:
        raise ValidationError(f"an entry has at most {MAX_EXTRA_FIELDS} other fields", "body")
    for name in extras:
        _check_extra(name, item[name])
    return {**item, "trace_id": trace_id}  # the key order kept: the same bytes for the same id


def _check_extra(name: str, value: Any) -> None:
    if len(name) > MAX_EXTRA_NAME_CHARS:
        raise ValidationError(f"a field name is longer than {MAX_EXTRA_NAME_CHARS}", "body")
    if isinstance(value, str):
        if len(value) > MAX_EXTRA_TEXT_CHARS:
            raise ValidationError(f"{name} is longer than {MAX_EXTRA_TEXT_CHARS} chars", name)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number", field=name)
    elif value is not None and not isinstance(value, bool | int):
        raise ValidationError(f"{name} must be text, a number, true/false or null", field=name)
