"""A trace list's items as every reader sees them: entries, drop markers, and placeholders for
items no reader can decode (issue 21: one bad item never takes down a read).

Ingest stores only what readers can serve (ingest/servable.py), but a list may still hold what
it did not write: an older version's entries, another tool's ``RPUSH``, bytes that are not
UTF-8. Such an item reads as ``{"kind": "undecodable", "position", "bytes", "excerpt",
"reason", "message"}``: where it is in the list, how long it is, its first bytes made safe to
show, and why it was not read; every other item reads as usual. The same goes for JSON whose
shape readers rely on is wrong (a marker whose counts are not numbers, an entry whose ``level``
is a list), since a reader would fail on it further on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

UNDECODABLE = "undecodable"
DROPPED = "dropped"
TRIMMED = "trimmed"  # at the oldest end of a list that outgrew its cap (store/base.py trim)
EXCERPT_BYTES = 64
MAX_MS = 253402300800000  # what a reader can show as an ISO 8601 time
# Entry fields readers compare, hash or print as text: when present, they must be strings.
_TEXT_FIELDS = ("id", "trace_id", "system", "level", "message", "timestamp", "received_at")
_decode = msgspec.json.decode
_encode = msgspec.json.encode


def undecodable(raw: bytes, position: int, reason: str) -> dict[str, Any]:
    excerpt = raw[:EXCERPT_BYTES].decode("utf-8", "replace")
    return {
        "kind": UNDECODABLE,
        "position": position,
        "bytes": len(raw),
        "excerpt": excerpt,
        "reason": reason,
        "message": f"undecodable item at position {position} ({len(raw)} bytes): {reason}",
    }


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_MS


def _shape_problem(item: Any) -> str | None:
    """Why a decoded item cannot be read as an entry or a marker, or None when it can."""
    if not isinstance(item, dict):
        return "not a JSON object"
    kind = item.get("kind")
    if kind is None:
        wrong = [name for name in _TEXT_FIELDS if name in item and not isinstance(item[name], str)]
        return f"{', '.join(wrong)} not text" if wrong else None
    if kind == TRIMMED:
        return None if _is_count(item.get("count")) else "a trimmed marker without its count"
    if kind != DROPPED:
        return "an item of an unknown kind"
    by = item.get("by")
    counts = [item.get(name) for name in ("count", "first", "last")]
    if not isinstance(by, dict) or not all(_is_count(n) for n in [*by.values(), *counts]):
        return "a drop marker without its counts"
    return None


def decode_item(raw: bytes, position: int) -> dict[str, Any]:
    """One list item decoded, or its placeholder."""
    try:
        item = _decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:  # a ValidationError is a DecodeError
        return undecodable(raw, position, f"not JSON ({exc})")
    problem = _shape_problem(item)
    return item if problem is None else undecodable(raw, position, problem)


def decode_items(items: Sequence[bytes]) -> list[dict[str, Any]]:
    return [decode_item(raw, position) for position, raw in enumerate(items)]


def is_entry(item: dict[str, Any]) -> bool:
    """An entry (not a drop marker, not a placeholder)."""
    return "kind" not in item


def one_line(raw: bytes, item: dict[str, Any]) -> bytes:
    """The JSON a stream sends for an item: as stored, unless that is not one line (a pretty
    printed item written by another tool would end a server-sent event early)."""
    # find, not `in`: bytes' `in` first tries its operand as an integer, and the error it
    # catches doubles the check's cost (timeit: 460 against 223 ns for a 300-byte item).
    if raw.find(b"\n") >= 0 or raw.find(b"\r") >= 0:
        return _encode(item)
    return raw
