"""What a client whose clock is off by ``skew_ms`` must leave in the store: entries whose own
time was corrected by the offset the service measured from the clock the client sent.

The offset measured is the skew's opposite plus the request's transit (the time between the
client stamping its clock and the service reading its own), so it may exceed the skew's opposite
by up to ``TRANSIT_MS`` on a loaded machine; it can never fall below it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

TRANSIT_MS = 3000


def iso_ms_of(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def check_corrected(entry: dict[str, Any], skew_ms: int) -> None:
    offset = entry["clock_offset_ms"]
    assert -skew_ms <= offset <= -skew_ms + TRANSIT_MS, (skew_ms, entry)
    assert iso_ms_of(entry["timestamp"]) - iso_ms_of(entry["sent_timestamp"]) == offset, entry
    # Stamped before it was sent, so once corrected it happened before it was received (give or
    # take the millisecond a time rounded to the nearest one, where a clock counts whole ones).
    assert iso_ms_of(entry["timestamp"]) <= iso_ms_of(entry["received_at"]) + 1, entry
