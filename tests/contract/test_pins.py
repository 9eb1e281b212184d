"""Pins, on every store: a pinned trace outlives its TTL, writes to it never shorten the pin,
unpinning gives the normal expiry back, the bounds refuse what passes them, and a pinned trace
stays listed after its hour (docs/reading.md, "Pinning").

Redis keeps TTLs on its own clock: there the tests wait for real for an unpinned control trace,
written at the same moment, to expire (polled with a generous deadline), and only then look at
the pinned one; on memory they move the injected clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tests.contract.test_store_contract import PLAN, T0, entries, entry
from tests.support.poll import until
from tracesink.store.base import Store
from tracesink.store.keys import trace_key
from tracesink.store.pinning import PinBounds, PinStatus

SHORT = replace(PLAN, ttl_ms=1_000)  # slack 100 ms: a trace lives 1.0 to 1.1 s unpinned
ROOMY = PinBounds(max_pins=100, max_bytes=64 << 20)
HOUR = 3_600_000


class Clock:
    """``now_ms`` for the store calls: moved by hand on memory, real time since T0 on Redis."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.started = time.monotonic()
        self.moved = 0

    def now(self) -> int:
        if self.backend == "memory":
            return T0 + self.moved
        return T0 + int((time.monotonic() - self.started) * 1000)

    async def wait(self, ms: int) -> None:
        """Let ``ms`` pass (a lower bound: only ever waited past, never timed)."""
        if self.backend == "memory":
            self.moved += ms
        else:
            await asyncio.sleep(ms / 1000)

    async def past_ttl(self, store: Store, control: str) -> int:
        """Once the unpinned trace ``control`` has expired: the time then."""
        if self.backend == "memory":
            self.moved += 2_500

        async def expired() -> bool:
            return await store.read_trace(control, self.now()) is None

        await until(expired, f"{control}'s expiry")
        return self.now()


async def test_a_pinned_trace_is_readable_after_its_ttl_and_an_unpinned_one_is_not(
    backend: str, make_store: StoreFactory
) -> None:
    """Pinned, a trace keeps its entries past the TTL, with pinned_until on the read; the trace
    written beside it, unpinned, is gone."""
    store = make_store(SHORT)
    clock = Clock(backend)
    await store.write_batch([*entries(3, "kept"), entry("gone")], clock.now())
    until = T0 + HOUR
    outcome = await store.pin("kept", until, clock.now(), ROOMY)
    assert outcome.status is PinStatus.PINNED
    assert outcome.bytes == sum(len(e.payload) for e in entries(3, "kept"))
    now = await clock.past_ttl(store, "gone")
    record = await store.read_trace("kept", now)
    assert record is not None
    assert len(record.items) == 3
    assert record.pinned_until_ms == until
    assert record.expires_at_ms is not None
    assert record.expires_at_ms > now + 60_000
    assert [p.trace_id for p in await store.pins(now)] == ["kept"]


async def test_writes_to_a_pinned_trace_never_shorten_its_pin(
    backend: str, make_store: StoreFactory
) -> None:
    """New entries (the script's PEXPIRE, now with GT) and refusals (drop markers) written to a
    pinned trace leave its pin's expiry alone: it outlives a trace written at the same time."""
    store = make_store(replace(SHORT, trace_limit=3))
    clock = Clock(backend)
    await store.write_batch([entry("kept")], clock.now())
    assert (await store.pin("kept", T0 + HOUR, clock.now(), ROOMY)).status is PinStatus.PINNED
    await clock.wait(300)  # past the slack (100 ms): the next write sets the list's expiry
    # Admitted, then refused by the trace limit (a marker): both extend the list's expiry.
    await store.write_batch([*entries(4, "kept"), entry("gone")], clock.now())
    await store.write_batch([entry("kept")], clock.now())
    now = await clock.past_ttl(store, "gone")
    record = await store.read_trace("kept", now)
    assert record is not None
    assert len(record.items) == 4
    assert record.pinned_until_ms == T0 + HOUR


async def test_unpinning_gives_back_the_normal_expiry(
    backend: str, make_store: StoreFactory
) -> None:
    """Unpinned after its hour, a trace goes at once; unpinning a trace twice says it was not
    pinned the second time, and pinning a trace that does not exist pins nothing."""
    store = make_store(SHORT)
    clock = Clock(backend)
    await store.write_batch([entry("kept"), entry("gone")], clock.now())
    assert (await store.pin("kept", T0 + HOUR, clock.now(), ROOMY)).status is PinStatus.PINNED
    now = await clock.past_ttl(store, "gone")
    assert await store.read_trace("kept", now) is not None
    assert await store.unpin("kept", now) is True
    assert await store.read_trace("kept", now) is None
    assert await store.unpin("kept", now) is False
    assert await store.pins(now) == []
    assert (await store.pin("never", T0 + HOUR, now, ROOMY)).status is PinStatus.NO_TRACE


async def test_unpinning_within_the_hour_keeps_the_trace_for_its_hour(
    make_store: StoreFactory,
) -> None:
    """Unpinned before its TTL passed, a trace is still there, no longer pinned."""
    store = make_store(PLAN)
    await store.write_batch([entry("a")], T0)
    await store.pin("a", T0 + 7 * 24 * HOUR, T0, ROOMY)
    assert await store.unpin("a", T0 + 1_000) is True
    record = await store.read_trace("a", T0 + 1_000)
    assert record is not None
    assert record.pinned_until_ms is None
    assert record.expires_at_ms is not None
    assert record.expires_at_ms <= T0 + 2 * HOUR


async def test_pins_are_bounded_by_count_and_bytes(make_store: StoreFactory) -> None:
    """A pin past max_pins or past max_bytes is refused, saying what is held; re-pinning a
    pinned trace is no new pin; an unpin frees its place."""
    store = make_store(PLAN)
    await store.write_batch([entry(t) for t in ("a", "b", "c")], T0)
    size = len(entry("a").payload)
    bounds = PinBounds(max_pins=2, max_bytes=10 * size)
    for trace_id in ("a", "b", "a"):
        assert (await store.pin(trace_id, T0 + HOUR, T0, bounds)).status is PinStatus.PINNED
    refused = await store.pin("c", T0 + HOUR, T0, bounds)
    assert (refused.status, refused.held) == (PinStatus.TOO_MANY, 2)
    assert await store.unpin("b", T0)
    assert (await store.pin("c", T0 + HOUR, T0, bounds)).status is PinStatus.PINNED
    await store.unpin("c", T0)
    small = PinBounds(max_pins=2, max_bytes=size + size // 2)
    too_large = await store.pin("c", T0 + HOUR, T0, small)
    assert (too_large.status, too_large.held, too_large.bytes) == (
        PinStatus.TOO_LARGE,
        size,
        size,
    )


async def test_an_ended_pin_frees_its_place(make_store: StoreFactory) -> None:
    """A pin past its end is no longer listed nor counted against the bound."""
    store = make_store(PLAN)
    await store.write_batch([entry("a"), entry("b")], T0)
    one = PinBounds(max_pins=1, max_bytes=1 << 20)
    assert (await store.pin("a", T0 + 1_000, T0, one)).status is PinStatus.PINNED
    assert (await store.pin("b", T0 + HOUR, T0 + 500, one)).status is PinStatus.TOO_MANY
    assert (await store.pin("b", T0 + HOUR, T0 + 1_000, one)).status is PinStatus.PINNED
    assert [p.trace_id for p in await store.pins(T0 + 1_000)] == ["b"]


async def test_a_pinned_trace_stays_listed_after_its_hour(
    backend: str, make_store: StoreFactory
) -> None:
    """recent_traces lists the pinned trace (with its pin's end) once its admission has left
    the recent-traces index, after the traces still in it."""
    store = make_store(SHORT)
    clock = Clock(backend)
    await store.write_batch([entry("kept"), entry("gone")], clock.now())
    await store.pin("kept", T0 + HOUR, clock.now(), ROOMY)
    now = await clock.past_ttl(store, "gone")
    await store.write_batch([entry("fresh")], now)
    listed = await store.recent_traces(10, now)
    assert [s.trace_id for s in listed] == ["fresh", "kept"]
    assert [s.pinned_until_ms for s in listed] == [None, T0 + HOUR]
    assert listed[1].count == 1
    assert [s.trace_id for s in await store.recent_traces(1, now)] == ["fresh"]


@pytest.mark.redis
async def test_a_pin_is_two_keys_beside_the_list(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """pin:{id} holds the pin's end and expires then; pins:{tracesink} indexes every pin and
    lives as long as the longest; the list's expiry is the pin's end."""
    store = make_script_store(PLAN)
    now = int(time.time() * 1000)
    written = entry("a", now_ms=now)
    await store.write_batch([written], now)
    await store.pin("a", now + 2 * HOUR, now, ROOMY)
    assert await raw_redis.get("pin:{a}") == str(now + 2 * HOUR).encode()
    index = await raw_redis.hgetall("pins:{tracesink}")
    assert index == {b"a": f"{now + 2 * HOUR}:{len(written.payload)}:{now}".encode()}
    for key in ("pin:{a}", "pins:{tracesink}", trace_key("", "a")):
        assert 2 * HOUR - 60_000 < await raw_redis.pttl(key) <= 2 * HOUR


async def test_a_pin_and_an_unpin_cost_what_docs_keys_md_says(
    make_script_store: StoreFactory,
) -> None:
    """usage.commands: a pin 7 (EVALSHA and LRANGE, HGETALL, PEXPIRE, SET, HSET, PEXPIRE), a
    refused pin 3, an unpin 5 (HDEL, DEL, LINDEX, PEXPIRE), an unpin of no pin 3, a read 3."""
    store = make_script_store(PLAN)
    await store.write_batch([entry("a"), entry("b")], T0)
    await store.pin("a", T0 + HOUR, T0, ROOMY)  # loads the script (a NOSCRIPT costs 2 more)
    await store.unpin("a", T0)
    spent = []
    for step in (
        store.pin("a", T0 + HOUR, T0, ROOMY),
        store.pin("b", T0 + HOUR, T0, PinBounds(max_pins=1, max_bytes=1 << 20)),
        store.unpin("a", T0),
        store.unpin("a", T0),
        store.read_trace("a", T0),
    ):
        before = store.usage.commands
        await step
        spent.append(store.usage.commands - before)
    assert spent == [7, 3, 5, 3, 3]


async def test_a_replayed_batch_leaves_a_pin(backend: str, make_store: StoreFactory) -> None:
    """Entries spooled in an outage and replayed into a pinned trace (replay_batch.lua's
    PEXPIRE, now with GT) leave its pin: it outlives a trace replayed beside it."""
    store = make_store(SHORT)
    clock = Clock(backend)
    await store.write_batch([entry("kept")], clock.now())
    assert (await store.pin("kept", T0 + HOUR, clock.now(), ROOMY)).status is PinStatus.PINNED
    now = clock.now()
    assert await store.replay_batch("spooled", [entry("kept"), entry("gone")], now, now)
    now = await clock.past_ttl(store, "gone")
    record = await store.read_trace("kept", now)
    assert record is not None
    assert len(record.items) == 2


async def test_an_import_that_replaces_a_pinned_trace_keeps_the_pin(
    backend: str, make_store: StoreFactory
) -> None:
    """`tracesink import --replace` over a pinned trace rewrites its items but not its expiry:
    the pin's longer one is kept, so the trace outlives one written at the same moment."""
    store = make_store(SHORT)
    clock = Clock(backend)
    await store.write_batch([entry("kept"), entry("gone")], clock.now())
    assert (await store.pin("kept", T0 + HOUR, clock.now(), ROOMY)).status is PinStatus.PINNED
    items = [e.payload for e in entries(2, "kept")]
    assert await store.import_trace("kept", items, clock.now(), replace=True) is True
    now = await clock.past_ttl(store, "gone")
    record = await store.read_trace("kept", now)
    assert record is not None
    assert len(record.items) == 2
    assert record.pinned_until_ms == T0 + HOUR
