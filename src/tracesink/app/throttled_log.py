"""``ThrottledLog``: a warning at most once per interval, for what can fail on every request."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("tracesink")


class ThrottledLog:
    """One warning per ``every_s`` at most, saying how many were held back: an outage fails
    every request, and a log line for each would drown the log (and the disk)."""

    def __init__(self, what: str, every_s: float) -> None:
        self._what = what
        self._every_s = every_s
        self._last = -every_s
        self._held = 0

    def warn(self, exc: Exception) -> None:
        suffix = self._due()
        if suffix is not None:
            log.warning("%s: %s%s", self._what, exc, suffix)

    def exception(self, exc: BaseException, where: str) -> None:
        """An error with its traceback, at most once per interval."""
        suffix = self._due()
        if suffix is not None:
            log.error("%s %s%s", self._what, where, suffix, exc_info=exc)

    def _due(self) -> str | None:
        """None while the interval runs (the event is counted), else the count to report."""
        now = time.monotonic()
        if now - self._last < self._every_s:
            self._held += 1
            return None
        held, self._held, self._last = self._held, 0, now
        return f" ({held} more since the last report)" if held else ""
