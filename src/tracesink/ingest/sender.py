"""What a request's headers say about the entries in its body: who sent them (the detected
system) and, for entries that name none, which trace they belong to."""

from __future__ import annotations

from collections.abc import Mapping

from tracesink.errors import ValidationError
from tracesink.ingest.detect import detect_from_headers
from tracesink.ingest.trace_context import HeaderTraceId, trace_id_from_headers
from tracesink.rules import MESSAGES

MISSING_TRACE_ID = MESSAGES["trace_id_missing"]


class Sender:
    __slots__ = ("_headers", "_trace", "_trace_read", "clock_ms", "pinned", "system", "system_rule")

    def __init__(
        self,
        headers: Mapping[str, str],
        detected: tuple[str, str] | None = None,
        pinned: str | None = None,
        clock_ms: int | None = None,
    ) -> None:
        """``detected``: (system, rule) when the route knows better than the headers alone;
        ``pinned``: the one system the request's ingest key may log as; ``clock_ms``: the
        sender's clock when it sent the request (ingest/clock.py)."""
        self._headers = headers
        self.system, self.system_rule = detected or detect_from_headers(headers)
        self.pinned = pinned
        self.clock_ms = clock_ms
        self._trace: HeaderTraceId | None = None
        self._trace_read = False

    def trace_id(self) -> HeaderTraceId:
        """The headers' trace id, read on first need; ValidationError when there is none."""
        if not self._trace_read:
            self._trace_read = True
            self._trace = trace_id_from_headers(self._headers)
        if self._trace is None:
            raise ValidationError(MISSING_TRACE_ID, field="trace_id")
        return self._trace
