"""The live feed: who gets an entry, once; a slow subscriber dropped, never waited for; and the
store watcher that brings other instances' entries in."""

from __future__ import annotations

import msgspec

from tracesink.limits import Policy
from tracesink.live import LiveEntry, LiveFeed
from tracesink.live_poll import StoreWatcher
from tracesink.model import PreparedEntry
from tracesink.store.memory import MemoryStore

NOW_MS = 1_795_946_400_000


def entry(n: int, trace_id: str = "t") -> LiveEntry:
    return LiveEntry(f"{NOW_MS + n:012x}{n:016x}", trace_id, b"{}")


def stored(entry_id: str) -> PreparedEntry:
    payload = {"id": entry_id, "trace_id": "t", "system": "manual", "level": "log"}
    return PreparedEntry(entry_id, "t", "manual", msgspec.json.encode(payload))


async def test_entries_reach_their_trace_and_everything_once() -> None:
    """A trace's subscriber gets that trace only, an every-trace one gets all; a second
    publication of an id (the watcher after the pipeline) is ignored."""
    feed = LiveFeed()
    one, every = feed.subscribe("t"), feed.subscribe(None)
    assert one is not None
    assert every is not None
    feed.publish([entry(1), entry(2, "other")])
    feed.publish([entry(1)])
    assert [e.id for e in await one.next_batch(0.1) or []] == [entry(1).id]
    assert [e.id for e in await every.next_batch(0.1) or []] == [entry(1).id, entry(2).id]
    assert await one.next_batch(0.01) == []  # nothing more: a timeout, not the end


async def test_a_slow_subscriber_is_dropped_with_a_final_flag() -> None:
    """Past its queue, a subscriber is unsubscribed (the writer never waits); it still reads
    what was queued, then learns it lagged, and the feed forgets it."""
    feed = LiveFeed(queue_size=2)
    slow = feed.subscribe("t")
    assert slow is not None
    feed.publish([entry(1), entry(2), entry(3)])
    assert feed.subscribers == 0
    assert feed.dropped_subscribers == 1
    assert len(await slow.next_batch(0.1) or []) == 2
    assert await slow.next_batch(0.1) is None
    assert slow.lagged


async def test_the_feed_refuses_subscribers_past_its_cap_and_ends_them_on_close() -> None:
    """A cap on streams per instance; close() ends every subscription (shutdown)."""
    feed = LiveFeed(max_subscribers=1)
    first = feed.subscribe(None)
    assert first is not None
    assert feed.subscribe("t") is None
    feed.close()
    assert await first.next_batch(1) is None
    assert not first.lagged


async def test_the_watcher_publishes_what_another_instance_stored() -> None:
    """Polling a shared store publishes entries written there by anyone, each once, only for
    what is watched; the every-trace stream only entries newer than when it began watching."""
    store = MemoryStore("memory://", Policy(10_000, 1000, {}, 3_600_000, 3_600_000))
    old = stored(f"{NOW_MS - 60_000:012x}{0:016x}")
    await store.write_batch([old], NOW_MS - 60_000)
    feed = LiveFeed()
    watcher = StoreWatcher(store, feed, 0.1, lambda: NOW_MS)
    one, every = feed.subscribe("t"), feed.subscribe(None)
    assert one is not None
    assert every is not None
    new_id = f"{NOW_MS:012x}{1:016x}"
    new = stored(new_id)
    await store.write_batch([new], NOW_MS)
    await watcher.poll_once(NOW_MS)
    await watcher.poll_once(NOW_MS)
    assert [e.id for e in await one.next_batch(0.1) or []] == [old.id, new_id]
    # The old entry went to the every-trace subscriber too (once); its stream drops ids below
    # its cursor. The watcher read the trace once for both.
    assert [e.id for e in await every.next_batch(0.1) or []] == [old.id, new_id]
    assert store.usage.commands == 0
    await watcher.close()
