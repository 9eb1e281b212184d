"""The Convex request id → trace id map behaves alike on every store: what one store object
links, another on the same database finds, for its window and the next, and no longer."""

from __future__ import annotations

from dataclasses import replace

from tests.contract.conftest import StoreFactory
from tests.contract.test_store_contract import PLAN

WINDOW_MS = 60_000
POLICY = replace(PLAN, window_ms=WINDOW_MS, ttl_ms=WINDOW_MS)
T0 = 1_000 * WINDOW_MS + 5


async def test_a_link_is_found_in_its_window_and_the_next_then_forgotten(
    backend: str, make_store: StoreFactory
) -> None:
    """Linked in window W: found in W and W+1 (a failure reported just after the window
    turned), gone in W+2; unknown ids are absent, not errors; a later link of the same request
    wins. On a shared store a second store object (another instance) sees the first's links."""
    first = make_store(POLICY)
    second = first if backend == "memory" else make_store(POLICY)
    await first.link_requests({"r1": "trace-a", "r2": "trace-b"}, T0)
    wanted = ["r1", "r2", "r3"]
    assert await second.traces_of_requests(wanted, T0) == {"r1": "trace-a", "r2": "trace-b"}
    await first.link_requests({"r2": "trace-c"}, T0 + WINDOW_MS)
    later = await second.traces_of_requests(wanted, T0 + WINDOW_MS)
    assert later == {"r1": "trace-a", "r2": "trace-c"}
    assert await second.traces_of_requests(wanted, T0 + 3 * WINDOW_MS) == {}
    assert await second.traces_of_requests([], T0) == {}


async def test_the_map_costs_two_commands_each_way_counted_in_usage(
    backend: str, make_store: StoreFactory
) -> None:
    """What the daily budget and /stats read (usage.commands) counts the map's commands: a
    link is HSET + PEXPIRE, a lookup two HMGETs; in memory, none."""
    store = make_store(POLICY)
    before = store.usage.commands
    await store.link_requests({"r1": "trace-a", "r2": "trace-b"}, T0)
    linked = store.usage.commands
    await store.traces_of_requests(["r1", "r2", "r3"], T0)
    expected = 0 if backend == "memory" else 2
    assert (linked - before, store.usage.commands - linked) == (expected, expected)
