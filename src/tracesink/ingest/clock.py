"""Clock correction: a sender that says what its clock read when it sent a request lets the
service correct the times of that request's entries by the sender's offset.

The clock travels as ``?clock=<ms since the epoch>`` (``sendBeacon`` cannot set headers, so the
browser client uses this, as it does ``?key=``) or as an ``X-Client-Clock`` header (the header
wins when both are sent). A client stamps it per attempt, when it sends: a batch that waited in
a retry queue carries the clock of its latest attempt, never of its first.

offset = receive time - sent clock. It contains the request's transit time as well as the clock
error, so it is only applied when it is large enough to be more than transit (``MIN_MS``) and
small enough to be a clock that is off rather than a clock that is broken (``MAX_MS``). An entry
with a time of its own then stores the corrected time as ``timestamp``, the time it was sent
with as ``sent_timestamp``, and the offset as ``clock_offset_ms``; an entry without a time of its
own was stamped by the service's clock and is left as it is. Entries of a request without a
clock keep their own time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tracesink.errors import ValidationError
from tracesink.rules import RULES, message

_CLOCK = RULES["clock"]  # names and bounds shared with the edge Worker (rules.json)
CLOCK_HEADER: str = _CLOCK["header"]
CLOCK_PARAM: str = _CLOCK["param"]
MIN_MS: int = _CLOCK["min_offset_ms"]  # below, an offset cannot be told from transit time
MAX_MS: int = _CLOCK["max_offset_ms"]  # from here on, a broken clock: entries keep their times
SENT_FIELD: str = _CLOCK["sent_field"]  # the time the entry was sent with
OFFSET_FIELD: str = _CLOCK["offset_field"]  # the correction applied
_LATEST_MS: int = RULES["entry"]["max_timestamp_ms"]  # year 10000, as for timestamps
_DIGITS = re.compile(r"[0-9]{1,15}")


def client_clock(headers: Mapping[str, str], query: str | None) -> int | None:
    """The clock a request carries (ms), or None; a malformed one is a 400 naming ``clock``."""
    raw = headers.get(CLOCK_HEADER) or query
    if raw is None or raw == "":
        return None
    if not _DIGITS.fullmatch(raw.strip()):
        raise ValidationError(message("clock"), field=CLOCK_PARAM)
    return int(raw)


def clock_offset(clock_ms: int | None, sent_ms: int, now_ms: int) -> int | None:
    """The correction to add to an entry's own time ``sent_ms``, or None when none applies."""
    if clock_ms is None:
        return None
    offset = now_ms - clock_ms
    if not MIN_MS <= abs(offset) < MAX_MS or not 0 <= sent_ms + offset < _LATEST_MS:
        return None
    return offset
