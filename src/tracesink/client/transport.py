"""POST one batch to tracesink with ``urllib``, retrying what a retry can fix.

The answer is ``Delivered`` (with the items the sink refused inside its 200) or ``Failed``
with the reason the whole batch is lost: ``rate_limited`` (429: never resent, see
docs/http-api.md "Refused entries"; ``pause_s`` is its Retry-After), ``refused`` (another 4xx:
resending cannot help) or ``undeliverable`` (network errors and 5xx, after ``max_retries``
retries with backoff).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tracesink.masking import mask_url  # standard library only, as the client must be


@dataclass(frozen=True, slots=True)
class Delivered:
    rejected: list[Any]  # the sink's `rejected` items: refused as invalid or by a limit


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str  # "rate_limited", "refused" or "undeliverable"
    pause_s: float = 0.0  # how long to hold further batches back (a 429's Retry-After)


DEFAULT_RETRY_AFTER_S = 1.0


def retry_after_s(value: str | None, now: float | None = None) -> float:
    """Seconds from a Retry-After header, delta-seconds or an HTTP-date (RFC 9110 10.2.3);
    a date in the past is 0; absent or unreadable, 1. The caller caps a huge value."""
    if value is None:
        return DEFAULT_RETRY_AFTER_S
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return DEFAULT_RETRY_AFTER_S
        if when.tzinfo is None:  # "-0000": UTC, as HTTP-dates always are
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return DEFAULT_RETRY_AFTER_S if math.isnan(seconds) else max(0.0, seconds)


class Transport:
    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        max_retries: int,
        max_pause: float,
        interrupted: threading.Event,
        on_problem: Callable[[str], None],
    ) -> None:
        # Every problem reported names the URL masked (a password in http://u:pass@…, a
        # ?key=…): reports reach logs and terminals; only the request holds it whole.
        self.display = mask_url(url)
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be an http:// or https:// URL, got {self.display!r}")
        self.url = url
        self._headers = dict(headers)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._max_pause = max_pause
        self._interrupted = interrupted  # set on close: no more waiting between retries
        self._on_problem = on_problem

    def post(self, body: bytes) -> Delivered | Failed:
        for attempt in range(self._max_retries + 1):
            # Stamped per attempt: this sender's clock as the request leaves, so the service can
            # correct for a clock that is off (X-Client-Clock, docs/http-api.md).
            headers = {**self._headers, "X-Client-Clock": str(time.time_ns() // 1_000_000)}
            # S310: the scheme was checked to be http(s) in __init__.
            request = urllib.request.Request(  # noqa: S310
                self.url, data=body, headers=headers, method="POST"
            )
            retry_after = 0.0
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                    answer = response.read()
                return Delivered(_rejected(answer))
            except urllib.error.HTTPError as exc:
                retry_after = retry_after_s(exc.headers.get("retry-after"))
                exc.close()
                if exc.code == 429:
                    pause = min(retry_after, self._max_pause)
                    self._on_problem(f"rate limited (429): pausing {pause:g} s")
                    return Failed("rate_limited", pause)
                if exc.code < 500 and exc.code != 408:
                    self._on_problem(f"{self.display} refused a batch: {exc.code} {exc.reason}")
                    return Failed("refused")
                self._on_problem(f"{self.display} answered {exc.code}")
            except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
                self._on_problem(f"cannot reach {self.display}: {_masked(str(exc), self.url)}")
            if attempt < self._max_retries and not self._interrupted.is_set():
                backoff = max(retry_after, 0.2 * 2**attempt)
                self._interrupted.wait(min(backoff, self._max_pause))
        return Failed("undeliverable")


def _rejected(answer: bytes) -> list[Any]:
    try:
        rejected = json.loads(answer).get("rejected") or []
    except (ValueError, AttributeError):
        return []
    return rejected if isinstance(rejected, list) else []


def _masked(text: str, url: str) -> str:
    """An error's text with the URL, should it quote it, masked."""
    return text.replace(url, mask_url(url)) if url else text
