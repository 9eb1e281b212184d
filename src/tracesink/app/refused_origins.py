"""A log line for the origins CORS refuses: at most one per origin per interval, with a count.

A page on an origin the allow-list does not name is a set-up mistake that fails silently on the
page's side (the client stops after the first 403); the operator needs to see it. A page that is
left open, or a hostile one, repeats the refusal: one line per request would flood the log, so
each origin is reported at its first refusal, then once per interval with how many it made
meanwhile. Bounded: past ``MAX_ORIGINS`` origins in one interval the table starts afresh (a flood
of invented origins costs one line per origin, never memory).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REFUSED_ORIGIN_LOG_EVERY_S = 60.0
MAX_ORIGINS = 1024

log = logging.getLogger("tracesink")


class RefusedOrigins:
    def __init__(
        self,
        every_s: float = REFUSED_ORIGIN_LOG_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._every_s = every_s
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # origin → (last reported, held since)

    def refused(self, origin: str, ingest: bool) -> None:
        """Count a refusal of ``origin``; log it when its interval is over."""
        now = self._clock()
        last, held = self._seen.get(origin, (None, 0))
        if last is not None and now - last < self._every_s:
            self._seen[origin] = (last, held + 1)
            return
        if len(self._seen) >= MAX_ORIGINS and origin not in self._seen:
            self._seen.clear()
        self._seen[origin] = (now, 0)
        what = "send logs" if ingest else "read"
        more = f" ({held} more since the last report)" if held else ""
        setting = "TRACESINK_CORS_ORIGINS" + (" or an ingest key's origins" if ingest else "")
        log.warning(
            "refused origin %s: may not %s; allow it with %s%s", origin, what, setting, more
        )
