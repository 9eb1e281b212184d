"""What ingest stores, every reader can serve: the door's rules for what JSON can say but not
every reader can read back (docs/http-api.md, "What the door normalises and refuses").

The edge Worker applies the same rules in ``edge/src/servable.js``, text for text, so that the two
ingesters store the same bytes (tests/vectors/ingest.json pins it):

- a UTF-8 byte order mark before a body is ignored (Windows tools write one);
- a ``\\uD800``-style escape of a lone surrogate (a JavaScript string cut in the middle of an
  emoji) is replaced by ``\\ufffd``, as a browser's encoder does: the entry is kept, the broken
  character shows as �;
- a number no 64-bit float can hold (``1e400``, 400 digits) is refused with a 400 naming the
  field: it has no value a reader could show (JSON.stringify and msgspec never write one);
- the messages of those refusals live here, once.

``servable`` is the same rule for values that arrive as Python objects rather than JSON text
(form fields, OTLP attributes): call it on what becomes ``context`` or a field before encoding.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tracesink.errors import ValidationError
from tracesink.rules import MESSAGES, RULES, message

BOM = b"\xef\xbb\xbf"
REPLACEMENT_ESCAPE = b"\\ufffd"
# A surrogate escape anywhere: the fast test that lets the usual body skip the rewrite.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
# Escapes, left to right (every backslash of valid JSON starts one, so `\\\\ud800` is an escaped
# backslash then text): a high surrogate with its low one, a lone low one, or any other escape.
_ESCAPE = re.compile(
    rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|u[dD][c-fC-F][0-9a-fA-F]{2}|.)",
    re.S,
)
# Only a number with 200 digits in a row or a three-digit exponent can leave a float's range
# (199 digits and e+99 stay below 1e308): anything else skips the exact scan. Both are looked
# for as substrings of a copy with every digit as 0 and E, + and - as e (`1E+400` is `0ee000`,
# which holds `e000`; only false alarms are added, such as `file123` or `-123`, and they go to
# the exact scan): one translate and one find, C loops over bytes, where the regex
# `[eE][+-]?\d{3}` tried its character class at every byte (issue 27, workload (b)'s ~60-byte
# contexts, by callgrind: ~6,100 -> ~2,100 instructions). `find`, not `in`: `x in bytes` first
# tries x as an int and raises and clears a TypeError (~1,800 instructions).
# (`[` as `{` too: ingest/batch.py counts a context's brackets in the same copy, one count.)
DIGIT_VIEW = bytes.maketrans(b"123456789E+-[", b"000000000eee{")
BIG_EXPONENT_VIEW = b"e000"
LONG_NUMBER_BYTES = 200
_LONG_DIGITS_VIEW = b"0" * LONG_NUMBER_BYTES
# JSON strings (skipped) and numbers, so that a number is never looked for inside a string.
_STRING_OR_NUMBER = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')
EXCERPT_CHARS: int = RULES["entry"]["excerpt_chars"]  # of a number quoted in a refusal
NOT_UTF8 = MESSAGES["body_utf8"]


def _pair_or_replacement(found: re.Match[bytes]) -> bytes:
    # Six characters are a surrogate escape on its own (a pair is twelve, other escapes two).
    return REPLACEMENT_ESCAPE if len(found.group()) == 6 else found.group()


def well_formed(body: bytes) -> bytes:
    """``body`` without a leading byte order mark, its lone surrogate escapes as ``\\ufffd``;
    400 when it is not UTF-8 at all, wherever (msgspec would skip an unknown field's bytes, and
    the edge Worker decodes a whole body before it parses it)."""
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(NOT_UTF8, field="body") from None
    if body.startswith(BOM):
        body = body[len(BOM) :]
    return surrogates_replaced(body)


def surrogates_replaced(body: bytes) -> bytes:
    """``body`` with each escape of a lone surrogate as ``\\ufffd`` (pairs kept)."""
    # No backslash, no escape (a one-byte find is a memchr; `b"\\u" in body` is not).
    if body.find(b"\\") < 0 or _SURROGATE.search(body) is None:
        return body
    return _ESCAPE.sub(_pair_or_replacement, body)


def unservable_number(raw: bytes) -> str | None:
    """The first number of the JSON ``raw`` that is beyond a 64-bit float's range, as written
    (cut to an excerpt); None when every number can be read back."""
    view = raw.translate(DIGIT_VIEW)
    if view.find(BIG_EXPONENT_VIEW) < 0 and (
        len(raw) < LONG_NUMBER_BYTES or view.find(_LONG_DIGITS_VIEW) < 0
    ):
        return None
    for token in _STRING_OR_NUMBER.finditer(raw):
        text = token.group()
        if text[:1] != b'"' and math.isinf(float(text)):
            written = text.decode("ascii")
            if len(written) > EXCERPT_CHARS:
                written = f"{written[:EXCERPT_CHARS]}… ({len(written)} characters)"
            return written
    return None


def number_out_of_range(field: str, written: str) -> ValidationError:
    return ValidationError(message("number_range", field=field, written=written), field=field)


def check_numbers(raw: bytes, field: str) -> None:
    """400 naming ``field`` when the JSON ``raw`` holds a number no reader can represent."""
    written = unservable_number(raw)
    if written is not None:
        raise number_out_of_range(field, written)


def servable_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (as a browser's encoder does)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def servable(value: Any) -> Any:
    """A decoded value every reader can serve: strings without lone surrogates, non-finite
    floats (a NaN attribute of an OTLP record) as the strings ``NaN``, ``Infinity`` and
    ``-Infinity`` that say what was sent, containers walked."""
    if isinstance(value, str):
        return servable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {servable_text(str(k)): servable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [servable(v) for v in value]
    return value
