"""The live feed: new entries handed to whoever watches a trace, or every trace, as they are stored.

The pipeline publishes the entries this instance stored right after its store step, so on
``memory://`` (one process, nothing else writes) the feed alone is the live stream and costs no
store command. Entries other instances stored on a shared store reach the feed through
``live_poll.StoreWatcher``. Either way an entry is published once: the feed remembers the ids it
published recently and ignores a second publication (the watcher may see an entry in the store
before the pipeline that stored it publishes it).

Each subscriber has a bounded queue. A subscriber that falls more than ``queue_size`` events
behind is dropped, never waited for: the writer must not block on a slow reader. It then reads
what was queued, and a final ``lagged`` flag tells its stream to end; the client resumes from
the store with its last event id (``Last-Event-ID``), so nothing is lost, only re-read.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

SUBSCRIBER_QUEUE = 1000  # events a subscriber may fall behind before it is dropped
REMEMBERED_IDS = 20_000  # ids published recently, to publish an entry once
MAX_SUBSCRIBERS = 256  # live streams served at once by one instance


@dataclass(frozen=True, slots=True)
class LiveEntry:
    id: str
    trace_id: str
    payload: bytes  # the stored JSON, sent as it is


class Subscription:
    """One watcher's queue; ``trace_id`` None watches every trace."""

    def __init__(self, feed: LiveFeed, trace_id: str | None, queue_size: int) -> None:
        self.trace_id = trace_id
        self._feed = feed
        self._queue: deque[LiveEntry] = deque()
        self._queue_size = queue_size
        self._ready = asyncio.Event()
        self.lagged = False  # dropped for falling behind
        self.closed = False  # the feed closed (the instance is stopping), or lagged

    def offer(self, entry: LiveEntry) -> bool:
        """Queue an entry; False (and closed) when the queue is full."""
        if len(self._queue) >= self._queue_size:
            self.lagged = self.closed = True
            self._ready.set()
            return False
        self._queue.append(entry)
        self._ready.set()
        return True

    def end(self) -> None:
        self.closed = True
        self._ready.set()

    async def next_batch(self, timeout_s: float) -> list[LiveEntry] | None:
        """What has queued up, waiting up to ``timeout_s`` for something; [] on timeout, None
        once closed and drained."""
        if not self._queue and not self.closed:
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return []
        self._ready.clear()
        if not self._queue:
            return None if self.closed else []
        batch = list(self._queue)
        self._queue.clear()
        return batch

    def cancel(self) -> None:
        self._feed.unsubscribe(self)


class LiveFeed:
    def __init__(
        self, queue_size: int = SUBSCRIBER_QUEUE, max_subscribers: int = MAX_SUBSCRIBERS
    ) -> None:
        self._queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._by_trace: dict[str, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._published: OrderedDict[str, None] = OrderedDict()
        self.dropped_subscribers = 0

    @property
    def subscribers(self) -> int:
        return len(self._everything) + sum(len(s) for s in self._by_trace.values())

    def watched_traces(self) -> list[str]:
        return list(self._by_trace)

    @property
    def watches_everything(self) -> bool:
        return bool(self._everything)

    def subscribe(self, trace_id: str | None) -> Subscription | None:
        """A new subscription, or None when this instance serves ``max_subscribers`` already."""
        if self.subscribers >= self.max_subscribers:
            return None
        subscription = Subscription(self, trace_id, self._queue_size)
        if trace_id is None:
            self._everything.add(subscription)
        else:
            self._by_trace.setdefault(trace_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.trace_id is None:
            self._everything.discard(subscription)
            return
        watchers = self._by_trace.get(subscription.trace_id)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._by_trace[subscription.trace_id]

    @property
    def watched(self) -> bool:
        """Whether any stream is open: with none, the write path builds nothing to publish."""
        return bool(self._everything or self._by_trace)

    def publish(self, entries: Iterable[LiveEntry]) -> None:
        """Hand each entry not published before to its trace's watchers and to everything's.
        Never awaits: called on the write path."""
        if not self.watched:
            return
        for entry in entries:
            if entry.id in self._published:
                continue
            self._published[entry.id] = None
            if len(self._published) > REMEMBERED_IDS:
                self._published.popitem(last=False)
            for subscription in (*self._by_trace.get(entry.trace_id, ()), *self._everything):
                if not subscription.offer(entry):
                    self.dropped_subscribers += 1
                    self.unsubscribe(subscription)

    def close(self) -> None:
        """End every subscription (the instance is stopping)."""
        for subscription in [*self._everything, *(s for v in self._by_trace.values() for s in v)]:
            subscription.end()
        self._everything.clear()
        self._by_trace.clear()
