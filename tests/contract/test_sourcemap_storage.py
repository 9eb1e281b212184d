"""Source maps kept on every store (memory, Redis, Upstash over REST): in chunks, bounded by
bytes per release, by releases kept and by their own expiry, at a stated command cost.

The same behaviour on each backend; Redis and Upstash also show their keys (docs/keys.md, "Source
maps") and what each step costs in commands."""

from __future__ import annotations

import hashlib

import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import StoreFactory
from tracesink.dev.rest_emulator import UpstashRestServer
from tracesink.errors import ValidationError
from tracesink.limits import Policy
from tracesink.sourcemaps.record import CHUNK_BYTES, MapLimits, MapRecord
from tracesink.sourcemaps.storage import CommandMaps, MapStorage, MemoryMaps
from tracesink.store import keys
from tracesink.store.base import Store
from tracesink.store.script_store import ScriptStore
from tracesink.terminal.sourcemaps import chunks_of

POLICY = Policy(global_limit=100, trace_limit=10, system_limits={}, window_ms=60_000, ttl_ms=60_000)
LIMITS = MapLimits(max_bytes=4 * 1024 * 1024, releases=2, ttl_ms=3_600_000)


def storage_of(store: Store, limits: MapLimits = LIMITS) -> MapStorage:
    if isinstance(store, ScriptStore):
        return CommandMaps(
            lambda commands: store.plain_commands(commands, "test"), POLICY.key_prefix, limits
        )
    return MemoryMaps(limits)


def a_map(size: int, seed: str = "x") -> bytes:
    """A map-like body of ``size`` bytes with multi-byte characters where chunks are cut."""
    text = ('{"version":3,"sources":["é"],"x":"' + seed + "ü€" * size)[: size // 2]
    return text.encode()[:size].decode("utf-8", "ignore").encode()


async def upload(
    maps: MapStorage, release: str, file: str, data: bytes, *, replace: bool = False
) -> tuple[MapRecord, list[str]]:
    map_id = hashlib.sha256(data).hexdigest()[:32]
    pieces = chunks_of(data)
    for n, piece in enumerate(pieces):
        await maps.put_chunk(release, map_id, n, piece)
    record = MapRecord(file, map_id, len(pieces), len(data))
    return record, await maps.commit(release, record, replace=replace)


async def test_a_map_larger_than_a_request_round_trips_in_chunks(make_store: StoreFactory) -> None:
    """A 1.5 MB map (multi-byte characters at the cuts) is sent in chunks of at most
    CHUNK_BYTES, indexed under its release and file, and read back byte for byte."""
    maps = storage_of(make_store(POLICY))
    data = a_map(1_500_000)
    assert all(len(p) <= CHUNK_BYTES for p in chunks_of(data))
    record, gone = await upload(maps, "web@1.0", "~/assets/app.js", data)
    assert gone == []
    assert record.chunks >= 6
    index = await maps.index("web@1.0")
    assert list(index) == ["~/assets/app.js"]
    assert await maps.body("web@1.0", index["~/assets/app.js"]) == data
    assert await maps.index("web@2.0") == {}


async def test_a_map_is_indexed_only_once_all_its_chunks_are_stored(
    make_store: StoreFactory,
) -> None:
    """A commit naming a chunk never sent is refused (400 naming chunks); nothing is indexed."""
    maps = storage_of(make_store(POLICY))
    data = a_map(CHUNK_BYTES + 10)
    map_id = hashlib.sha256(data).hexdigest()[:32]
    await maps.put_chunk("r", map_id, 0, chunks_of(data)[0])
    with pytest.raises(ValidationError) as refused:
        await maps.commit("r", MapRecord("~/a.js", map_id, 2, len(data)), replace=False)
    assert refused.value.field == "chunks"
    assert "1 of its 2 chunks are not stored" in refused.value.message
    assert await maps.index("r") == {}


async def test_a_release_holds_at_most_max_bytes(make_store: StoreFactory) -> None:
    """Maps beyond TRACESINK_SOURCEMAPS_MAX_BYTES for one release are refused with 413."""
    maps = storage_of(make_store(POLICY), MapLimits(600_000, 2, 3_600_000))
    await upload(maps, "r", "~/a.js", a_map(400_000, "a"))
    with pytest.raises(ValidationError) as refused:
        await upload(maps, "r", "~/b.js", a_map(300_000, "b"))
    assert refused.value.status == 413
    assert "TRACESINK_SOURCEMAPS_MAX_BYTES" in refused.value.message
    assert list(await maps.index("r")) == ["~/a.js"]


async def test_only_the_latest_releases_are_kept(make_store: StoreFactory) -> None:
    """With TRACESINK_SOURCEMAPS_RELEASES=2, a third release's upload deletes the oldest
    release's maps, and says which."""
    maps = storage_of(make_store(POLICY))
    first, _ = await upload(maps, "r1", "~/a.js", a_map(1000, "1"))
    await upload(maps, "r2", "~/a.js", a_map(1000, "2"))
    _, gone = await upload(maps, "r3", "~/a.js", a_map(1000, "3"))
    assert gone == ["r1"]
    assert await maps.index("r1") == {}
    assert await maps.body("r1", first) is None
    assert list(await maps.index("r3")) == ["~/a.js"]


async def test_a_rebuilt_bundle_under_the_same_release_is_refused_unless_replaced(
    make_store: StoreFactory,
) -> None:
    """Another map for a file the release has mapped is a rebuilt bundle: 409 (its stacks
    would read wrong lines); with replace, the new map is kept and the old one's chunks go."""
    maps = storage_of(make_store(POLICY))
    old, _ = await upload(maps, "r", "~/a.js", a_map(2000, "old"))
    new_data = a_map(2000, "new")
    with pytest.raises(ValidationError) as refused:
        await upload(maps, "r", "~/a.js", new_data)
    assert refused.value.status == 409
    assert "--replace" in refused.value.message
    new, _ = await upload(maps, "r", "~/a.js", new_data, replace=True)
    assert (await maps.index("r"))["~/a.js"].map_id == new.map_id
    assert await maps.body("r", old) is None
    assert await maps.body("r", new) == new_data


@pytest.mark.redis
async def test_map_keys_follow_the_layout_expire_and_cost_what_docs_keys_says(
    make_script_store: StoreFactory, raw_redis: aioredis.Redis
) -> None:
    """Every key a map upload writes is of docs/keys.md's layout and has a TTL; an upload of n
    chunks costs n SETs + 2 (EXISTS, HGETALL) + 5 + n (HSET, PEXPIRE of the index, of each
    chunk, ZADD, PEXPIRE, ZRANGE); reading a map back costs one GET per chunk."""
    store = make_script_store(POLICY)
    maps = storage_of(store)
    before = store.usage.commands
    record, _ = await upload(maps, "web@1.0", "~/app.js", a_map(600_000))
    n = record.chunks
    assert store.usage.commands - before == n + 2 + 5 + n
    found = sorted(k.decode() if isinstance(k, bytes) else k for k in await raw_redis.keys("*"))
    pattern = keys.key_pattern(POLICY.key_prefix)
    assert all(pattern.fullmatch(k) for k in found), found
    assert len(found) == n + 2  # the chunks, the index, the releases
    for key in found:
        assert 0 < await raw_redis.pttl(key) <= LIMITS.ttl_ms
    before = store.usage.commands
    assert await maps.body("web@1.0", record) is not None
    assert store.usage.commands - before == n


@pytest.mark.redis
async def test_no_upstash_request_of_a_large_map_exceeds_its_1_mb_limit(
    make_upstash_store: object, upstash_server: UpstashRestServer
) -> None:
    """With the REST server refusing bodies over 1 MB (Upstash's plans), a 3 MB map is stored
    and read back whole: every request carries at most a chunk or a few."""
    upstash_server.max_body_bytes = 1_000_000
    store = make_upstash_store(POLICY)  # type: ignore[operator]
    maps = storage_of(store)
    data = a_map(3_000_000)
    record, _ = await upload(maps, "big", "~/app.js", data)
    assert await maps.body("big", record) == data
