"""``since`` as an agent gives it: a window back from now ("15m", "2h", "90s") or an entry id.

The read routes take an entry id as ``since``: ids start with 12 hex digits of milliseconds
(``ids.py``) and compare as text, so "15 minutes ago" is the id prefix of that millisecond.
"""

from __future__ import annotations

import re

from tracesink.errors import ValidationError
from tracesink.read_filter import ENTRY_ID

DEFAULT_WINDOW = "15m"
WINDOW = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
SINCE_RULE = "a window back from now like 30s, 15m, 2h, or an entry id (12 to 64 hex digits)"


def since_id(since: str | None, now_ms: int) -> str | None:
    """The entry id cursor ``since`` means; None for "" or "all" (everything the store holds)."""
    if since is None or since.strip().lower() in ("", "all"):
        return None
    raw = since.strip().lower()
    if ENTRY_ID.fullmatch(raw):
        return raw
    window = WINDOW.fullmatch(raw)
    if window is None:
        raise ValidationError(f"since must be {SINCE_RULE}", "since")
    back = int(float(window.group(1)) * UNIT_MS[window.group(2)])
    return f"{max(0, now_ms - back):012x}"


def since_is_id(since: str) -> bool:
    return bool(ENTRY_ID.fullmatch(since.strip().lower()))
