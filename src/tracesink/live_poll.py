"""Entries other instances stored, brought into this instance's live feed by polling the store.

On a shared store (Redis, Upstash REST) another instance may store an entry a subscriber here
watches. Upstash's REST API has no pub/sub, and a Redis ``PUBLISH`` from the write script would
be paid on every batch whether anyone watches or not; so the store is polled instead, but only
while this instance has a subscriber, once per ``interval_s`` for all of its subscribers together
(never per connection), and not at all while the daily command budget is spent:

- per watched trace: ``read_trace`` (Redis: ``LRANGE`` + ``PTTL``, 2 commands; Upstash: one
  pipeline of the same 2), whatever number of clients watch it;
- for the every-trace stream: ``recent_traces(RECENT)`` (1 + RECENT commands), then
  ``read_trace`` only for a trace whose newest id changed (2 each).

At the default 1 s, one watched trace costs 7,200 commands an hour, the every-trace view about
40,000. ``memory://`` has no other writer, so nothing is polled there (``TRACESINK_LIVE_POLL_S=0``
turns polling off on a single-instance Redis too). Ids are remembered by the feed, so an entry is
published once whether the pipeline or the watcher saw it first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tracesink.errors import StorageError
from tracesink.live import LiveEntry, LiveFeed
from tracesink.store.base import Store
from tracesink.store.items import decode_items, is_entry, one_line

log = logging.getLogger("tracesink")

RECENT = 10  # traces the every-trace stream looks at per poll
# The every-trace stream publishes entries newer than the moment it started watching, less this
# margin for instances whose clocks (and so ids) run a little behind this one's.
CLOCK_MARGIN_MS = 5_000


class StoreWatcher:
    def __init__(
        self,
        store: Store,
        feed: LiveFeed,
        interval_s: float,
        now_ms: Callable[[], int],
        paused: Callable[[int], bool] = lambda now_ms: False,
    ) -> None:
        self._store = store
        self._feed = feed
        self._interval_s = interval_s
        self._now_ms = now_ms
        self._paused = paused  # the daily command budget is spent
        self._task: asyncio.Task[None] | None = None
        self._newest: dict[str, str] = {}  # every-trace stream: each trace's newest id seen
        self._floor = ""  # every-trace stream: publish ids above this one
        self.polls = 0
        self._failing = False  # warn once per outage, not once per poll

    def wake(self) -> None:
        """Start polling if it is not running (a subscriber arrived)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="tracesink-live-poll")

    async def _run(self) -> None:
        while self._feed.subscribers:
            now_ms = self._now_ms()
            if not self._paused(now_ms):
                try:
                    await self.poll_once(now_ms)
                except StorageError as exc:
                    if not self._failing:
                        log.warning("live streams: cannot poll the store: %s", exc)
                    self._failing = True
                else:
                    self._failing = False
            await asyncio.sleep(self._interval_s)
        self._newest.clear()
        self._floor = ""

    async def poll_once(self, now_ms: int) -> None:
        self.polls += 1
        traces = set(self._feed.watched_traces())
        if self._feed.watches_everything:
            if not self._floor:
                self._floor = f"{max(0, now_ms - CLOCK_MARGIN_MS):012x}"
            for summary in await self._store.recent_traces(RECENT, now_ms):
                newest = summary.last_id or ""
                if newest > self._floor and self._newest.get(summary.trace_id) != newest:
                    self._newest[summary.trace_id] = newest
                    traces.add(summary.trace_id)
        for trace_id in traces:
            record = await self._store.read_trace(trace_id, now_ms)
            if record is None:
                continue
            self._feed.publish(
                LiveEntry(item["id"], trace_id, one_line(raw, item))
                for raw, item in zip(record.items, decode_items(record.items), strict=True)
                if is_entry(item) and "id" in item
            )

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
