"""uvicorn's traceback for an error that escaped the app: the first, then one per interval with
the count held back; records without a traceback always pass."""

from __future__ import annotations

import logging

from tracesink.server.throttled_log import ThrottledTracebacks


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(with_traceback: bool) -> logging.LogRecord:
    exc_info = None
    if with_traceback:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            exc_info = (RuntimeError, exc, exc.__traceback__)
    return logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n", (), exc_info
    )


def test_tracebacks_pass_once_per_interval_with_a_count() -> None:
    """Ten tracebacks within the interval: one passes. After it, the next passes and says nine
    more came since; plain records (no traceback) are never held."""
    clock = Clock()
    throttled = ThrottledTracebacks(10.0, clock)
    passed = [throttled.filter(record(True)) for _ in range(10)]
    assert passed == [True] + [False] * 9
    assert throttled.filter(record(False))
    clock.now += 10.5
    late = record(True)
    assert throttled.filter(late)
    assert late.getMessage() == ("Exception in ASGI application (9 more since the last report)")
    assert not throttled.filter(record(True))
