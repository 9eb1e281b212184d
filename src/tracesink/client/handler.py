"""``TraceSinkHandler``: a ``logging.Handler`` that sends records to tracesink in the background.

Standard library only at run time (``urllib``, ``threading``, ``queue``, ``json``). ``emit()``
turns the record into one JSON line and puts it on a bounded queue: it never blocks on the
network and never raises into the application. A daemon thread sends what is queued in batches
to ``POST /logs`` (NDJSON): one request at a time, whatever gathered while the previous one was
in flight going together, as the server's writer does.

What can go wrong, and what it does (the policy every tracesink client follows, and the drop
reasons, are in docs/http-api.md "Refused entries"):

- queue full (the sink is slow or away): the record is dropped, ``queue_full``;
- refused by a limit (429, or an item of a 200's ``rejected`` marked ``retryable``): dropped,
  ``rate_limited``, never resent (the sink already marks the gap in the trace); after a 429
  sending pauses for ``Retry-After`` (at most ``max_pause`` seconds) while records queue up;
- refused as invalid (another 4xx, or an item of a 200's ``rejected``): dropped, ``refused``;
- network error, 5xx: the batch is retried with backoff, then dropped, ``undeliverable``.

``handler.sent`` counts the records the sink stored, ``handler.dropped`` the others by reason.
Drops are reported in-band, except ``rate_limited`` ones, which the sink's own marker reports:
the next batch that gets through carries a ``warn`` entry saying how many were dropped and why
(in the trace of that batch's first record). ``flush()`` and ``close()`` deliver what is
queued within a timeout; ``logging.shutdown()`` (run at exit) calls both. After ``os.fork()``
the child starts with an empty queue and its own sender thread (the parent still sends what it
had queued).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import sys
import threading
import time
import weakref
from typing import Any

from tracesink import __version__
from tracesink.client.context import current_trace_id, valid_trace_id
from tracesink.client.record import encode_record
from tracesink.client.transport import Delivered, Transport

DROP_REASONS = ("queue_full", "rate_limited", "refused", "undeliverable")
# What the in-band report tells: a limit's refusals are in the trace already, as the sink's marker.
REPORTED = ("queue_full", "refused", "undeliverable")
REPORT_EVERY_S = 60.0
_STOP = object()


class _Flush:
    """A marker on the queue: set once everything queued before it was sent (or dropped)."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class TraceSinkHandler(logging.Handler):
    """Send log records to a tracesink service.

    ``url`` is the service (``http://127.0.0.1:8787``; a trailing ``/logs`` is fine). ``system``
    is sent as ``X-Log-System``; ``key`` as ``X-Tracesink-Key``. A record's trace id is its own
    ``extra={"trace_id": …}``, else the current one (``tracesink.trace``, the middleware, or the
    active OpenTelemetry span), else ``trace_id`` given here, else one made up for this handler.
    """

    def __init__(
        self,
        url: str = "http://127.0.0.1:8787",
        *,
        system: str = "manual",
        key: str | None = None,
        trace_id: str | None = None,
        level: int = logging.NOTSET,
        batch_size: int = 100,
        max_queue: int = 10_000,
        timeout: float = 5.0,
        max_retries: int = 3,
        max_pause: float = 60.0,
    ) -> None:
        super().__init__(level)
        base = url.rstrip("/")
        base = base.removesuffix("/logs").removesuffix("/log")
        self.url = base + "/logs"
        self.system = system
        self.fallback_trace_id = valid_trace_id(trace_id) or f"untraced-{secrets.token_hex(6)}"
        self.batch_size = max(1, batch_size)
        self.max_queue = max(1, max_queue)
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.max_pause = max_pause
        self._headers = {
            "Content-Type": "application/x-ndjson",
            "X-Log-System": system,
            "User-Agent": f"tracesink-python/{__version__}",
        }
        if key is not None:
            self._headers["X-Tracesink-Key"] = key
        self.last_error: str | None = None
        self._reset()  # raises ValueError for a URL that is not http(s)
        _HANDLERS.add(self)

    def _reset(self) -> None:
        """Fresh queue, thread state and counts (at start, and in a forked child)."""
        self._queue: queue.Queue[Any] = queue.Queue(self.max_queue)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._closing = threading.Event()
        self._transport = Transport(
            self.url,
            self._headers,
            timeout=self.timeout,
            max_retries=self.max_retries,
            max_pause=self.max_pause,
            interrupted=self._closing,
            on_problem=self._problem,
        )
        self._closed = False
        self._paused_until = 0.0
        self._last_report = -REPORT_EVERY_S
        self.sent = 0
        self.dropped = dict.fromkeys(DROP_REASONS, 0)
        self._unreported = dict.fromkeys(REPORTED, 0)

    # --- the application's side: emit() --------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._closed or threading.current_thread() is self._thread:
                self._drop("refused")  # after close(), or logging from the sender's own work
                return
            line = self.encode(record)
            self._ensure_thread()
            self._queue.put_nowait(line)
        except queue.Full:
            self._drop("queue_full")
        except Exception:  # never into the application: a record that cannot be encoded
            self._drop("refused")

    def encode(self, record: logging.LogRecord) -> bytes:
        """The record as one JSON line, in its trace (see the class docstring)."""
        trace_id = (
            valid_trace_id(getattr(record, "trace_id", None))
            or current_trace_id()
            or self.fallback_trace_id
        )
        return encode_record(record, trace_id)

    def _drop(self, reason: str, count: int = 1) -> None:
        with self._counts_lock:
            self.dropped[reason] += count
            if reason in self._unreported:
                self._unreported[reason] += count

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="tracesink-sender", daemon=True
                )
                self._thread.start()

    # --- flush and close --------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:  # type: ignore[override]
        """Wait until what is queued now was sent (or dropped); False when ``timeout`` ran out."""
        if self._thread is None or not self._thread.is_alive():
            return self._queue.empty()
        marker = _Flush()
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(marker, timeout=timeout)
        except queue.Full:
            return False
        return marker.done.wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (within ``timeout``, ignoring a 429's pause) and stop."""
        if self._closed:
            super().close()
            return
        self._closed = True
        self._closing.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            deadline = time.monotonic() + timeout
            try:
                self._queue.put(_STOP, timeout=timeout)
                thread.join(max(0.0, deadline - time.monotonic()))
            except queue.Full:
                pass
        _HANDLERS.discard(self)
        super().close()

    # --- the sender thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            lines: list[bytes] = []
            markers: list[_Flush] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, _Flush):
                    markers.append(item)
                else:
                    lines.append(item)
                if len(lines) >= self.batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if lines:
                try:
                    self._deliver(lines)
                except Exception as exc:  # the thread must outlive any surprise
                    self._problem(f"unexpected {type(exc).__name__}: {exc}")
                    self._drop("undeliverable", len(lines))
            for marker in markers:
                marker.done.set()
            if stop:
                return

    def _take_report(self, trace_id: str) -> tuple[dict[str, int], bytes] | None:
        with self._counts_lock:
            counts = {reason: n for reason, n in self._unreported.items() if n}
            if not counts:
                return None
            self._unreported = dict.fromkeys(REPORTED, 0)
        detail = ", ".join(f"{n} {reason}" for reason, n in counts.items())
        entry = {
            "trace_id": trace_id,
            "level": "warn",
            "message": f"tracesink handler dropped {sum(counts.values())} entries ({detail})",
            "timestamp": time.time(),
            "context": {"tracesink_dropped": counts},
        }
        return counts, json.dumps(entry).encode()

    def _restore_report(self, counts: dict[str, int]) -> None:
        with self._counts_lock:
            for reason, n in counts.items():
                self._unreported[reason] += n

    def _deliver(self, lines: list[bytes]) -> None:
        while not self._closing.is_set() and (wait := self._paused_until - time.monotonic()) > 0:
            self._closing.wait(wait)
        first_trace = json.loads(lines[0]).get("trace_id", self.fallback_trace_id)
        report = self._take_report(first_trace)
        outcome = self._transport.post(b"\n".join([*lines, report[1]] if report else lines))
        if isinstance(outcome, Delivered):  # stored, but for the items the sink refused
            refused = [item for item in outcome.rejected if isinstance(item, dict)]
            if report is not None and any(item.get("index") == len(lines) for item in refused):
                self._restore_report(report[0])  # the report itself: the next batch carries it
                refused = [item for item in refused if item.get("index") != len(lines)]
            self.sent += len(lines) - len(refused)
            for item in refused:
                self._drop("rate_limited" if item.get("retryable") is True else "refused")
            return
        if outcome.pause_s:
            self._paused_until = time.monotonic() + outcome.pause_s
        if report is not None:
            self._restore_report(report[0])
        self._drop(outcome.reason, len(lines))

    def _problem(self, text: str) -> None:
        """Remember the last problem; say it on stderr at most once a minute."""
        self.last_error = text
        now = time.monotonic()
        if now - self._last_report >= REPORT_EVERY_S:
            self._last_report = now
            print(
                f"tracesink handler: {text} (records that cannot be sent are dropped and counted)",
                file=sys.stderr,
            )


_HANDLERS: weakref.WeakSet[TraceSinkHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's sender thread does not exist here and its queue's locks may have been held
    # mid-operation at the fork: start over, empty. The parent still sends what it had.
    for handler in list(_HANDLERS):
        handler._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
