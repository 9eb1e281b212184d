"""Times as tracesink shows them: ISO 8601 UTC with millisecond precision."""

from __future__ import annotations

import functools
from datetime import UTC, datetime


@functools.lru_cache(maxsize=4096)
def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC with millisecond precision.

    Cached: every entry of a request shares its receive time, and profiling put this at ~8 % of
    a 20-entry batch's cost."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_seconds(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=1024)
def _iso_seconds(seconds: int) -> str:
    # Formatting a datetime costs more than the rest of an entry's validation; entries arriving
    # in the same second share the work.
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
