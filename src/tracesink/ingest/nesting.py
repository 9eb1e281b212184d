"""Where a JSON body nests too deeply, so that the refusal can name the place.

msgspec decodes in C and refuses nesting beyond about a thousand levels with ``RecursionError``
(its recursion guard), wherever the nesting is: in ``context``, in a field it would skip, at a
batch's top level. That guard costs nothing on the hot path, so it stays the limit; this module
only runs after it fired, to say where. It walks the tokens that matter (strings, brackets,
separators) with one C regex and stops at the first level past ``DEPTH_REPORTED``, so its work is
bounded by the bytes before the deep place, never by what follows.
"""

from __future__ import annotations

import re

from tracesink.errors import ValidationError

# Far below msgspec's guard (~1000) and far above anything a log entry needs (context is capped
# at TRACESINK_MAX_CONTEXT_DEPTH): the first place past it is the one to name.
DEPTH_REPORTED = 256
# A JSON string (escapes included, written unrolled so the regex engine does not backtrack per
# character) or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


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


def too_deep(raw: bytes, top: str) -> ValidationError:
    """The 400 for a body msgspec refused with RecursionError, naming where it is too deep:
    the entry's field (``context``, an unknown one), or the batch's item and its field."""
    path = deep_place(raw)
    if path and isinstance(path[0], str):
        path = path[:1]  # an entry: the field is the place (its key names it in `field`)
    field = next((step for step in path if isinstance(step, str)), "") or "body"
    return ValidationError(
        f"{describe(path, top)} is nested too deeply (more than {DEPTH_REPORTED} levels)",
        field=field,
    )
