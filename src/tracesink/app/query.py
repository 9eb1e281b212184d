"""Strict parsing of the numbers a client puts in a query string or a header.

``str.isdigit`` and ``int`` accept far more than a client should send: ``"²".isdigit()`` is true
and ``int("²")`` raises, ``int`` takes ``"١٢"`` (Arabic-Indic digits), ``" 12"`` and ``"1_2"``,
and a 5,000-digit string raises a ValueError about Python's own digit limit. A number on the wire
is 1 to ``MAX_DIGITS`` ASCII digits; anything else is a 400 naming the parameter or header.
"""

from __future__ import annotations

import re

from tracesink.errors import ValidationError

MAX_DIGITS = 18  # below 2**63: every count or size tracesink reads fits, with room to spare
_DIGITS = re.compile(f"[0-9]{{1,{MAX_DIGITS}}}")


def ascii_int(raw: str) -> int | None:
    """``raw`` as a whole number when it is 1 to MAX_DIGITS ASCII digits, else None."""
    return int(raw) if _DIGITS.fullmatch(raw) else None


def bounded_int(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    """A query parameter (or header) holding a whole number from ``low`` to ``high``."""
    if raw is None:
        return default
    value = ascii_int(raw)
    if value is None or not low <= value <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}", field=name)
    return value


def content_length(raw: str | None) -> int | None:
    """The declared body size, or None when there is none; 400 for anything but ASCII digits
    (a server in front may have passed it through unchecked)."""
    if raw is None:
        return None
    value = ascii_int(raw.strip())
    if value is None:
        raise ValidationError(
            "Content-Length must be a whole number of bytes", field="Content-Length"
        )
    return value
