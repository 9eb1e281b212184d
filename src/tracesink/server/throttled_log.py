"""uvicorn's traceback for an error that escaped the app, at most once per interval.

The app answers its own errors (``application.py`` logs them throttled), but an error raised while
an answer is being sent (a live stream whose store fails mid-way, a header uvicorn refuses)
reaches uvicorn, which logs ``Exception in ASGI application`` with a traceback for every request:
under a fault that hits every request, a flood that drowns the log and fills the disk. This
filter lets the first through, then one per ``every_s``, saying how many it held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

TRACEBACK_LOG_EVERY_S = 10.0


class ThrottledTracebacks(logging.Filter):
    """Passes records without a traceback; of those with one, one per ``every_s``."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        now = self._clock()
        if self._last is not None and now - self._last < self._every_s:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{str(record.msg).rstrip()} ({self._held} more since the last report)"
        self._held, self._last = 0, now
        return True


def throttle_tracebacks(logger_name: str = "uvicorn.error") -> ThrottledTracebacks:
    """Install the filter on ``logger_name`` (after uvicorn has configured its logging)."""
    throttled = ThrottledTracebacks(TRACEBACK_LOG_EVERY_S)
    logging.getLogger(logger_name).addFilter(throttled)
    return throttled
