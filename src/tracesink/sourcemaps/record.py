"""What a release's index says of one map, and the rules an upload is checked against."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import msgspec

from tracesink.errors import ValidationError
from tracesink.ingest.validate import RELEASE, RELEASE_RULE

# Every chunk but a map's last is exactly this long: under the default body cap (1 MiB) and
# Upstash's 1 MB request limit with room for JSON escaping, and it bounds a map's chunk count.
CHUNK_BYTES = 256 * 1024
MAP_ID = re.compile(r"[0-9a-f]{16,64}")
MAX_FILE_CHARS = 1024


@dataclass(frozen=True, slots=True)
class MapRecord:
    file: str  # the bundle's name as frames are matched: "~/assets/app.js" or a full URL
    map_id: str  # hex sha256 of the map's bytes (a prefix of it): names its chunks
    chunks: int
    size: int  # the map's bytes
    uploaded_ms: int = 0
    debug_id: str | None = None  # the bundle's //# debugId=, when it has one
    bundle_sha256: str | None = None  # the bundle's hash, when it was beside the map

    def encode(self) -> bytes:
        return msgspec.json.encode(asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str) -> MapRecord:
        return cls(**msgspec.json.decode(raw))


@dataclass(frozen=True, slots=True)
class MapLimits:
    max_bytes: int  # one release's maps together
    releases: int  # releases kept
    ttl_ms: int


def check_release(release: str) -> str:
    if not RELEASE.fullmatch(release) or release in (".", ".."):
        raise ValidationError(RELEASE_RULE + " (not . or ..)", field="release")
    return release


def check_chunk(map_id: str, index: int, data: bytes, limits: MapLimits) -> None:
    if not MAP_ID.fullmatch(map_id):
        raise ValidationError("a map id is 16-64 lowercase hex digits", field="map")
    if index < 0 or index * CHUNK_BYTES >= limits.max_bytes:
        raise ValidationError(
            f"chunk {index} starts past TRACESINK_SOURCEMAPS_MAX_BYTES ({limits.max_bytes})",
            field="chunk",
            status=413,
        )
    if len(data) > CHUNK_BYTES or not data:
        raise ValidationError(f"a chunk is 1 to {CHUNK_BYTES} bytes", field="chunk", status=413)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # A JSON request (Upstash) cannot carry it: clients split maps between characters.
        raise ValidationError("a chunk must be UTF-8, split between characters", "chunk") from None


def check_record(record: MapRecord, limits: MapLimits) -> None:
    """What a commit's record must be before anything is sent for it: its chunk count fits its
    size, and its size fits a release."""
    if not record.file or len(record.file) > MAX_FILE_CHARS:
        raise ValidationError(f"file is 1 to {MAX_FILE_CHARS} characters", field="file")
    if record.size > limits.max_bytes:
        raise ValidationError(
            f"a map of {record.size} bytes is over TRACESINK_SOURCEMAPS_MAX_BYTES "
            f"({limits.max_bytes})",
            field="size",
            status=413,
        )
    # Chunks are cut between UTF-8 characters: each but the last is at least CHUNK_BYTES - 3.
    fewest, most = -(-record.size // CHUNK_BYTES), -(-record.size // (CHUNK_BYTES - 3))
    if record.size <= 0 or not fewest <= record.chunks <= most:
        raise ValidationError(
            f"{record.size} bytes come in {fewest} to {most} chunks of at most {CHUNK_BYTES}",
            field="chunks",
        )


def check_commit(
    release: str,
    record: MapRecord,
    index: Mapping[str, MapRecord],
    limits: MapLimits,
    *,
    replace: bool,
) -> MapRecord | None:
    """Refuse an upload that breaks a bound or would silently swap a release's bundle; the
    record it replaces, if any."""
    check_record(record, limits)
    others = sum(r.size for name, r in index.items() if name != record.file)
    if others + record.size > limits.max_bytes:
        raise ValidationError(
            f"release {release} would hold {others + record.size} bytes of maps, over "
            f"TRACESINK_SOURCEMAPS_MAX_BYTES ({limits.max_bytes})",
            field="size",
            status=413,
        )
    old = index.get(record.file)
    if old is None or old.map_id == record.map_id:
        return old
    if not replace:
        raise ValidationError(
            f"release {release} already has another map for {record.file}: a rebuilt bundle "
            "needs a new release (its old stacks would read wrong lines), or replace it "
            "(--replace)",
            field="file",
            status=409,
        )
    return old
