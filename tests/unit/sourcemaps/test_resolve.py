"""The resolver's matching and cache, without HTTP: names a bundle URL may have been uploaded
under, a parsed map reused across stacks, and a release that could name a path refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sourcemap_bundle import MAP, STACK
from tracesink.errors import ValidationError
from tracesink.sourcemaps.record import MapRecord, check_release
from tracesink.sourcemaps.resolve import Budget, Resolver, candidates


def test_query_strings_and_hashes_do_not_change_the_name() -> None:
    """A bundle URL matches as itself without ?query and #hash, and as ~/path on any host."""
    assert candidates("https://shop.example/assets/app.js?v=123#x") == [
        "https://shop.example/assets/app.js",
        "~/assets/app.js",
    ]


@pytest.mark.parametrize("release", [".", "..", "a/b", "v 1", "{x}", ""])
def test_a_release_that_could_name_a_path_or_key_is_refused(release: str) -> None:
    """A release becomes a key's tag and a folder name: no separator, brace, space, . or .."""
    with pytest.raises(ValidationError) as refused:
        check_release(release)
    assert refused.value.field == "release"


class CountingSource:
    def __init__(self) -> None:
        self.bodies = 0
        self.indexes = 0
        self.record = MapRecord("~/assets/app.js", "a" * 32, 1, len(MAP))

    async def index(self, release: str) -> dict[str, MapRecord]:
        self.indexes += 1
        return {self.record.file: self.record} if release == "web-1" else {}

    async def body(self, release: str, record: MapRecord) -> bytes | None:
        self.bodies += 1
        return MAP


async def test_a_map_is_fetched_and_parsed_once_for_many_stacks() -> None:
    """100 stacks of one release read the index once and the map once (then the cache)."""
    source = CountingSource()
    resolver = Resolver([source])
    entries: list[dict[str, Any]] = [{"stack": STACK, "release": "web-1"} for _ in range(100)]
    await resolver.resolve_entries(entries)
    assert all(e["resolved"][1]["original"]["line"] == 2 for e in entries)
    assert (source.indexes, source.bodies) == (1, 1)
    assert len(resolver.cache) == 1


async def test_one_read_fetches_a_bounded_number_of_maps_and_releases() -> None:
    """Past its share of map fetches or release lookups, a read leaves frames raw, saying so;
    what it fetched stays cached for the next read."""
    source = CountingSource()
    resolver = Resolver([source])
    entries: list[dict[str, Any]] = [{"stack": STACK, "release": "web-1"}]
    frames = await resolver.resolve_stack(STACK, "web-1", Budget(fetches=0))
    assert "already fetched 8 maps" in frames[1]["unresolved"]
    await resolver.resolve_entries(entries)
    assert entries[0]["resolved"][1]["original"]["line"] == 2
    cached = await resolver.resolve_stack(STACK, "web-1", Budget(fetches=0))
    assert "original" in cached[1]
    fresh = await Resolver([source]).resolve_stack(STACK, "web-2", Budget(releases=0))
    assert "already looked up 16 releases" in fresh[1]["unresolved"]


async def test_a_stack_without_a_frame_stays_as_it_is() -> None:
    """A stack none of whose lines names a file:line:column (a Node-less message, a frame
    without a column) resolves to its lines, unchanged."""
    frames = await Resolver([CountingSource()]).resolve_stack(
        "Error: declined\n    at charge (pay.ts:12)", "web-1"
    )
    assert frames == [{"raw": "Error: declined"}, {"raw": "    at charge (pay.ts:12)"}]
