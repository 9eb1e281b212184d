"""A sender's ``timestamp`` → milliseconds since the epoch, by one grammar both ingesters share.

``datetime.fromisoformat`` is not that grammar: it changes between Python versions and accepts
any character between date and time; the edge Worker (``edge/src/timestamp.js``) implements this
module's regex and arithmetic, so the same text gives the same millisecond on both.

Accepted (docs/http-api.md, "Timestamps"):

- a number: milliseconds since the epoch, or seconds when below 1e11 (Python's ``time.time()``);
- ISO 8601 text: a calendar date (``2024-05-16``, ``20240516``) or a week date (``2024-W20-4``,
  ``2024W204``, ``2024-W20`` for its Monday), optionally followed by ``T``, ``t`` or a space and a
  time (``hh``, ``hh:mm``, ``hh:mm:ss``, each colon optional, a fraction after ``.`` or ``,`` of
  any length), optionally followed by ``Z`` or an offset (``+hh``, ``+hh:mm``, ``+hh:mm:ss``, each
  colon optional); without an offset, UTC.

Both are kept to the millisecond they fall in (floored, as a clock shows time): ``…882.5`` is
``…882``, and so is ``.8829999``. A number is nudged by half a microsecond first, so that binary
floating point (``1715879172.882 * 1000`` is ``…881.9999998``) does not lose a millisecond; both
runtimes do the same double arithmetic.
"""

from __future__ import annotations

import math
import re
from datetime import date

from tracesink.errors import ValidationError
from tracesink.rules import MAX_TIMESTAMP_MS as MAX_TIMESTAMP_MS  # year 10000: ISO 8601's last
from tracesink.rules import RULES, SECONDS_BELOW, message

# The grammar and the nudge are rules.json's, which the edge Worker reads too.
NUDGE_MS: float = RULES["entry"]["timestamp_nudge_ms"]
_ISO = re.compile(RULES["entry"]["timestamp_iso"], re.ASCII)
_OFFSET = re.compile(RULES["entry"]["timestamp_offset"], re.ASCII)
_EPOCH_DAYS = date(1970, 1, 1).toordinal()


def _malformed() -> ValidationError:
    return ValidationError(message("timestamp_form"), field="timestamp")


def _out_of_range() -> ValidationError:
    return ValidationError(message("timestamp_range"), field="timestamp")


def _day(found: re.Match[str]) -> date:
    year = int(found[1])
    try:
        if found[2] or found[4]:
            return date(year, int(found[2] or found[4]), int(found[3] or found[5]))
        return date.fromisocalendar(year, int(found[6] or found[8]), int(found[7] or found[9] or 1))
    except ValueError:
        raise _malformed() from None


def iso_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 timestamp of the shared grammar."""
    found = _ISO.fullmatch(text)
    if found is None:
        raise _malformed()
    hour, minute, second = (int(found[i] or 0) for i in (10, 11, 12))
    if hour > 23 or minute > 59 or second > 59:
        raise _malformed()
    offset_s = 0
    if found[14] and found[14] not in "Zz":
        sign, hours, minutes, seconds = _OFFSET.fullmatch(found[14]).groups()  # type: ignore[union-attr]
        if int(minutes or 0) > 59 or int(seconds or 0) > 59 or int(hours) > 23:
            raise _malformed()
        offset_s = int(hours) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
        offset_s = -offset_s if sign == "-" else offset_s
    days = _day(found).toordinal() - _EPOCH_DAYS
    seconds_total = days * 86400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds_total * 1000 + int((found[13] or "")[:3].ljust(3, "0"))


def timestamp_ms(value: float | str) -> int:
    """A sender's timestamp (a number or ISO 8601 text) as milliseconds since the epoch; 400
    naming ``timestamp`` when it is neither, or before 1970, or from year 10000 on."""
    if isinstance(value, str):
        ms = iso_ms(value)
    else:
        if not math.isfinite(value) or value < 0:
            raise ValidationError(message("timestamp_negative"), field="timestamp")
        if value >= MAX_TIMESTAMP_MS:  # also keeps a huge integer out of the float arithmetic
            raise _out_of_range()
        ms = math.floor((value * 1000 if value < SECONDS_BELOW else value) + NUDGE_MS)
    if not 0 <= ms < MAX_TIMESTAMP_MS:
        raise _out_of_range()
    return ms
