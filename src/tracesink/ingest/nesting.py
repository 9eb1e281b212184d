"""Where a JSON body nests too deeply, so that the refusal can name the place.

A body nested deeper than ``DEPTH_REPORTED`` is refused before it is decoded, wherever the
nesting is: in ``context``, in a field msgspec would skip, at a batch's top level. msgspec's own
guard (``RecursionError``, near a thousand levels less the caller's stack) depends on the stack
and JSON.parse has none, so the line is drawn here, the same in the edge Worker (nesting.js); a
body with fewer brackets than the limit is not even scanned. To name the place, this module
walks the tokens that matter (strings, brackets, separators) with one C regex and stops at the
first level past ``DEPTH_REPORTED``, so its work is bounded by the bytes before the deep place.
"""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

from tracesink.errors import ValidationError
from tracesink.rules import RULES, message

# Below msgspec's guard (~1000 less the stack) and far above anything a log entry needs
# (context is capped at TRACESINK_MAX_CONTEXT_DEPTH): the first place past it is refused.
# rules.json's, the edge Worker's too.
DEPTH_REPORTED: int = RULES["entry"]["max_nesting"]
# A JSON string, escapes included (unrolled, so the regex engine does not backtrack per
# character); one left open runs to the end of the text, as in nesting.js.
_STRING_PATTERN = rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_STRING = re.compile(_STRING_PATTERN, re.S)
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{]}"))
# A JSON string or one structural character.
_TOKEN = re.compile(_STRING_PATTERN + rb"|[\[\]{},:]", re.S)


def deep_place(raw: bytes) -> list[str | int]:
    """The path (object keys, array indexes) of the first value deeper than ``DEPTH_REPORTED``,
    cut to its first two steps; [] when that is the top level itself (or nothing is deep)."""
    path: list[str | int] = []  # one step per open container, for the first two levels
    depth = 0
    last_string = ""
    for token in _TOKEN.finditer(raw):
        text = token.group()
        first = text[:1]
        if first == b'"':
            last_string = text[1:-1].decode("utf-8", "replace")
        elif first in (b"[", b"{"):
            depth += 1
            if depth > DEPTH_REPORTED:
                return path[:2]
            if depth <= 2:
                # An array's first element is index 0; an object's key is set by its ':'.
                path[depth - 1 :] = [0 if first == b"[" else ""]
        elif first in (b"]", b"}"):
            depth -= 1
            del path[depth:]
        elif first == b":" and 0 < depth <= 2:
            path[depth - 1] = last_string
        elif first == b"," and 0 < depth <= 2 and isinstance(path[depth - 1], int):
            path[depth - 1] = int(path[depth - 1]) + 1
    return []


def describe(path: list[str | int], top: str) -> str:
    """``item 3, field `context``` / ``field `extra``` / ``the body``, for a message: the item of
    a batch and the field of an entry, the steps a sender can act on."""
    steps = [f"item {step}" if isinstance(step, int) else f"field `{step}`" for step in path]
    if path and isinstance(path[0], int) and len(path) > 1 and isinstance(path[1], int):
        steps = steps[:1]  # an array inside an item of the batch: the item is the place
    return ", ".join(steps) or top


def check_depth(raw: bytes, top: str) -> None:
    """400 when any value of ``raw`` (an entry, a JSON array batch) nests deeper than
    ``DEPTH_REPORTED``, wherever it is: an unknown field too, which msgspec would skip up to its
    own guard and JSON.parse without one; the edge Worker draws the same line (nesting.js).
    Fewer brackets than the limit cannot nest that deep: the usual body is not walked."""
    if raw.count(b"{") + raw.count(b"[") <= DEPTH_REPORTED or max_depth(raw) <= DEPTH_REPORTED:
        return
    raise too_deep(raw, top)


def max_depth(raw: bytes) -> int:
    """The deepest nesting of ``raw``, at C speed: strings cut out, each bracket made +1 or -1
    (a signed byte), the running sum's maximum (a 1,000-entry batch pays ~0.1 ms)."""
    # Without a backslash every quote opens or closes a string: what lies outside is every other
    # piece; with one, only the regex knows where strings end.
    outside = b"".join(raw.split(b'"')[::2]) if raw.find(b"\\") < 0 else _STRING.sub(b"", raw)
    brackets = outside.translate(_STEPS, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets)), default=0)


def too_deep(raw: bytes, top: str) -> ValidationError:
    """The 400 for a body nested too deeply, naming where: the entry's field (``context``, an
    unknown one), or the batch's item and its field."""
    path = deep_place(raw)
    if path and isinstance(path[0], str):
        path = path[:1]  # an entry: the field is the place (its key names it in `field`)
    field = next((step for step in path if isinstance(step, str)), "") or "body"
    return ValidationError(
        message("too_deep", place=describe(path, top), max=DEPTH_REPORTED),
        field=field,
    )
