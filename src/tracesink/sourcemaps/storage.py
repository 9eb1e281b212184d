"""Where source maps live: the service's store (memory, Redis, Upstash), chunked and bounded.

A map is sent and kept in chunks of ``CHUNK_BYTES`` (``map:{<release>}:<map id>:<n>``), since a
map is often larger than the request body cap and Upstash's request limit; a release's index
(``maps:{<release>}``, file -> record) is written once all of a map's chunks are stored, so a
reader never sees half a map. ``releases:{tracesink}`` keeps the releases by last upload: past
``sourcemaps_releases`` the oldest is deleted with its chunks. Every key expires
``sourcemaps_ttl_s`` after its release's last upload. The commands each step costs are listed in
docs/keys.md ("Source maps").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tracesink.errors import ValidationError
from tracesink.sourcemaps.record import MapLimits, MapRecord, check_commit, check_record
from tracesink.store import keys

Command = Sequence[int | str | bytes]
Run = Callable[[Sequence[Command]], Awaitable[list[object]]]
READ_GROUP = 3  # chunks per read request: under Upstash's 1 MB with the default chunk


class MapStorage(Protocol):
    async def put_chunk(self, release: str, map_id: str, index: int, data: bytes) -> None: ...

    async def commit(self, release: str, record: MapRecord, *, replace: bool) -> list[str]:
        """Index ``record`` under ``release`` once its chunks are stored; the releases deleted
        to keep ``limits.releases``."""
        ...

    async def index(self, release: str) -> dict[str, MapRecord]: ...

    async def body(self, release: str, record: MapRecord) -> bytes | None:
        """The map's bytes, or None when a chunk has expired."""
        ...


def _decoded(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class CommandMaps:
    """Maps on Redis or Upstash, through the store's own counted, budgeted command path."""

    def __init__(self, run: Run, prefix: str, limits: MapLimits) -> None:
        self._run = run
        self._prefix = prefix
        self.limits = limits

    def _chunk(self, release: str, map_id: str, n: int) -> str:
        return keys.map_chunk_key(self._prefix, release, map_id, n)

    def _chunks(self, release: str, record: MapRecord) -> list[str]:
        return [self._chunk(release, record.map_id, n) for n in range(record.chunks)]

    async def put_chunk(self, release: str, map_id: str, index: int, data: bytes) -> None:
        key = self._chunk(release, map_id, index)
        await self._run([["SET", key, data, "PX", self.limits.ttl_ms]])  # 1 command

    async def index(self, release: str) -> dict[str, MapRecord]:
        (pairs,) = await self._run([["HGETALL", keys.maps_key(self._prefix, release)]])
        return _index_of(pairs)

    async def commit(self, release: str, record: MapRecord, *, replace: bool) -> list[str]:
        check_record(record, self.limits)  # before a command names its chunks
        index_key = keys.maps_key(self._prefix, release)
        chunk_keys = self._chunks(release, record)
        present, pairs = await self._run([["EXISTS", *chunk_keys], ["HGETALL", index_key]])
        if int(_decoded(present)) != record.chunks:
            raise ValidationError(
                f"{record.file}: {record.chunks - int(_decoded(present))} of its {record.chunks} "
                "chunks are not stored (upload them first)",
                field="chunks",
            )
        index = _index_of(pairs)
        old = check_commit(release, record, index, self.limits, replace=replace)
        index[record.file] = record
        ttl, now = self.limits.ttl_ms, int(time.time() * 1000)
        releases = keys.releases_key(self._prefix)
        # The whole release expires together: its index and every chunk it names.
        commands: list[Command] = [
            ["HSET", index_key, record.file, record.encode()],
            ["PEXPIRE", index_key, ttl],
            *(_expire(k, ttl) for r in index.values() for k in self._chunks(release, r)),
            ["ZADD", releases, now, release],
            ["PEXPIRE", releases, ttl],
            ["ZRANGE", releases, 0, -(self.limits.releases + 1)],
        ]
        ranked_at = len(commands) - 1
        if old is not None and old.map_id != record.map_id:
            commands.append(["DEL", *self._chunks(release, old)])
        replies = await self._run(commands)
        ranked = replies[ranked_at]
        # (Never the release just uploaded, were its score tied with older ones' in one ms.)
        gone = [_decoded(r) for r in ranked] if isinstance(ranked, list) else []
        gone = [name for name in gone if name != release]
        for name in gone:
            await self._drop(name)
        return gone

    async def _drop(self, release: str) -> None:
        index_key = keys.maps_key(self._prefix, release)
        (pairs,) = await self._run([["HGETALL", index_key]])
        doomed = [k for r in _index_of(pairs).values() for k in self._chunks(release, r)]
        await self._run(
            [["DEL", index_key, *doomed], ["ZREM", keys.releases_key(self._prefix), release]]
        )

    async def body(self, release: str, record: MapRecord) -> bytes | None:
        parts: list[bytes] = []
        names = self._chunks(release, record)
        for at in range(0, len(names), READ_GROUP):
            replies = await self._run([["GET", k] for k in names[at : at + READ_GROUP]])
            for reply in replies:
                if reply is None:
                    return None
                parts.append(reply if isinstance(reply, bytes) else str(reply).encode())
        return b"".join(parts)


def _expire(key: str, ttl_ms: int) -> Command:
    return ["PEXPIRE", key, ttl_ms]


def _index_of(pairs: object) -> dict[str, MapRecord]:
    if isinstance(pairs, dict):
        items = list(pairs.items())
    else:
        flat = list(pairs or [])  # type: ignore[call-overload]
        items = list(zip(flat[::2], flat[1::2], strict=True))
    return {_decoded(name): MapRecord.decode(value) for name, value in items}


@dataclass(slots=True)
class _Release:
    index: dict[str, MapRecord] = field(default_factory=dict)
    chunks: dict[tuple[str, int], bytes] = field(default_factory=dict)
    expires_ms: int = 0
    uploaded_ms: int = 0


class MemoryMaps:
    """Maps of a ``memory://`` service: the same rules in the process (gone on restart)."""

    def __init__(self, limits: MapLimits, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._releases: dict[str, _Release] = {}

    def _now(self) -> int:
        return int(self._clock() * 1000)

    def _live(self, release: str) -> _Release:
        now = self._now()
        for name in [n for n, r in self._releases.items() if r.expires_ms <= now]:
            del self._releases[name]
        found = self._releases.get(release)
        if found is None:
            found = self._releases[release] = _Release(expires_ms=now + self.limits.ttl_ms)
        return found

    async def put_chunk(self, release: str, map_id: str, index: int, data: bytes) -> None:
        kept = self._live(release)
        kept.chunks[(map_id, index)] = data
        # Chunks of maps never committed count too, so an abandoned upload stays bounded.
        if sum(map(len, kept.chunks.values())) > 2 * self.limits.max_bytes:
            raise ValidationError(
                "too many chunks of unfinished uploads for this release", "chunk", status=413
            )

    async def commit(self, release: str, record: MapRecord, *, replace: bool) -> list[str]:
        check_record(record, self.limits)
        kept = self._live(release)
        missing = [n for n in range(record.chunks) if (record.map_id, n) not in kept.chunks]
        if missing:
            raise ValidationError(
                f"{record.file}: {len(missing)} of its {record.chunks} chunks are not stored "
                "(upload them first)",
                field="chunks",
            )
        old = check_commit(release, record, kept.index, self.limits, replace=replace)
        kept.index[record.file] = record
        if old is not None and old.map_id != record.map_id:
            for n in range(old.chunks):
                kept.chunks.pop((old.map_id, n), None)
        now = self._now()
        kept.expires_ms, kept.uploaded_ms = now + self.limits.ttl_ms, now
        ranked = sorted(self._releases, key=lambda n: self._releases[n].uploaded_ms)
        gone = ranked[: max(0, len(ranked) - self.limits.releases)]
        for name in gone:
            del self._releases[name]
        return gone

    async def index(self, release: str) -> dict[str, MapRecord]:
        found = self._releases.get(release)
        if found is None or found.expires_ms <= self._now():
            return {}
        return dict(found.index)

    async def body(self, release: str, record: MapRecord) -> bytes | None:
        found = self._releases.get(release)
        if found is None:
            return None
        parts = [found.chunks.get((record.map_id, n)) for n in range(record.chunks)]
        if any(p is None for p in parts):
            return None
        return b"".join(p for p in parts if p is not None)
