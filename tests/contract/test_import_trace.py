"""``Store.import_trace`` (an import, ``PUT /logs/{trace_id}``) on every backend: the items go
in as given, oldest first, in one step; nothing is decided or counted against the limits; a
trace that exists is left alone unless replaced; the markers it writes are the scripts' own."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest

from tests.contract.conftest import StoreFactory, UpstashStoreFactory
from tests.contract.test_store_contract import PLAN, T0, entry, outcomes, read_items
from tracesink.errors import ValidationError


def trimmed(count: int) -> bytes:
    return msgspec.json.encode({"kind": "trimmed", "count": count})


async def test_an_import_stores_the_items_as_given_and_lists_the_trace(
    make_store: StoreFactory,
) -> None:
    """The list reads back exactly the imported bytes, oldest first, with an expiry a TTL
    away, and the trace is listed among the recent ones."""
    store = make_store(PLAN)
    items = [trimmed(3), *(entry("imp", message=f"m{i}").payload for i in range(4))]
    assert await store.import_trace("imp", items, T0, replace=False) is True
    record = await store.read_trace("imp", T0)
    assert record is not None
    assert record.items == items
    assert record.expires_at_ms is not None
    assert T0 + PLAN.ttl_ms <= record.expires_at_ms <= T0 + PLAN.ttl_ms + PLAN.expiry_slack_ms
    recent = await store.recent_traces(10, T0)
    assert [(s.trace_id, s.count) for s in recent] == [("imp", 4)]


async def test_an_existing_trace_is_kept_unless_replaced(make_store: StoreFactory) -> None:
    """Without replace an import of a trace that exists writes nothing and says so; with it,
    the list is the import's alone (never a merge)."""
    store = make_store(PLAN)
    old = entry("both", message="old")
    assert outcomes(await store.write_batch([old], T0)) == [None]
    new = [entry("both", message="new").payload]
    assert await store.import_trace("both", new, T0 + 1, replace=False) is False
    assert await read_items(store, "both", T0 + 1) == [old.payload]
    assert await store.import_trace("both", new, T0 + 2, replace=True) is True
    assert await read_items(store, "both", T0 + 2) == new


async def test_an_import_is_not_counted_against_the_limits(make_store: StoreFactory) -> None:
    """Five imported entries of a trace whose limit is two: the trace (and the global level)
    still admit two written entries in the same window."""
    store = make_store(replace(PLAN, trace_limit=2, global_limit=2))
    imported = [entry("quota", message=f"i{i}").payload for i in range(5)]
    assert await store.import_trace("quota", imported, T0, replace=False) is True
    written = [entry("quota", message="w1"), entry("quota", message="w2")]
    assert outcomes(await store.write_batch(written, T0 + 1)) == [None, None]
    assert await read_items(store, "quota", T0 + 1) == [*imported, *(e.payload for e in written)]


async def test_an_imported_trimmed_marker_is_the_one_the_cap_extends(
    make_store: StoreFactory,
) -> None:
    """A full imported list with a trimmed marker at its oldest end: the next write trims it as
    it trims its own lists, so the marker's count goes on from the imported one."""
    store = make_store(replace(PLAN, max_trace_entries=10))
    kept = [entry("cap", message=f"k{i}").payload for i in range(9)]
    assert await store.import_trace("cap", [trimmed(5), *kept], T0, replace=False) is True
    newest = entry("cap", message="newest")
    assert outcomes(await store.write_batch([newest], T0 + 1)) == [None]
    assert await read_items(store, "cap", T0 + 1) == [trimmed(6), *kept[1:], newest.payload]


@pytest.mark.redis
async def test_an_import_past_upstash_s_request_bound_is_refused_before_it_is_sent(
    make_upstash_store: UpstashStoreFactory,
) -> None:
    """An import is one atomic call, which cannot be split as a batch is: past the request
    bound it is a 413 naming the bound, and nothing is stored."""
    store = make_upstash_store(PLAN, max_request_bytes=4000)
    items = [entry("big", message="x" * 500).payload for _ in range(10)]
    with pytest.raises(ValidationError) as refused:
        await store.import_trace("big", items, T0, replace=False)
    assert (refused.value.status, refused.value.field) == (413, "body")
    assert "4000 bytes" in refused.value.message
    assert await store.read_trace("big", T0) is None
    assert await store.import_trace("big", items[:2], T0, replace=False) is True
