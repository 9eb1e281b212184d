"""Uploading source maps: ``/sourcemaps/{release}[/{map}/{chunk}]``, behind the read token.

``PUT /sourcemaps/{release}/{map}/{n}`` stores chunk ``n`` of a map (its body, at most
``CHUNK_BYTES``); ``POST /sourcemaps/{release}`` indexes a map whose chunks are all stored
(``{"file", "map", "chunks", "size", "debug_id"?, "bundle_sha256"?, "replace"?}``);
``GET /sourcemaps/{release}`` lists the release's maps. Never an ingest key: whoever may send
logs from a page must not choose how everyone's stacks read. No map is ever served back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracesink.app.http import Request, Response, json_response
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.sourcemaps.record import (
    CHUNK_BYTES,
    MAP_ID,
    MAX_FILE_CHARS,
    MapRecord,
    check_chunk,
    check_release,
)

SOURCEMAPS_PREFIX = "/sourcemaps/"
COMMIT_MAX_BYTES = 4096


class _Commit(msgspec.Struct, forbid_unknown_fields=True):
    file: str
    map: str
    chunks: int
    size: int
    debug_id: str | None = None
    bundle_sha256: str | None = None
    replace: bool = False


async def sourcemaps_route(state: AppState, request: Request) -> Response:
    parts = request.path[len(SOURCEMAPS_PREFIX) :].split("/")
    release = check_release(parts[0])
    maps = state.sourcemaps
    if len(parts) == 3 and request.method == "PUT":
        map_id, index = parts[1], _index(parts[2])
        data = await request.body(CHUNK_BYTES, state.deadlines)
        check_chunk(map_id, index, data, maps.limits)
        await maps.storage.put_chunk(release, map_id, index, data)
        return json_response(200, {"release": release, "map": map_id, "chunk": index})
    if len(parts) == 1 and request.method == "POST":
        body = await request.body(COMMIT_MAX_BYTES, state.deadlines)
        try:
            commit = msgspec.json.decode(body, type=_Commit)
        except msgspec.ValidationError as exc:
            raise ValidationError(f"the map's record: {exc}", field="body") from None
        except msgspec.DecodeError:
            raise ValidationError("the map's record is not JSON", field="body") from None
        if not MAP_ID.fullmatch(commit.map):
            raise ValidationError("a map id is 16-64 lowercase hex digits", field="map")
        if len(commit.file) > MAX_FILE_CHARS:
            raise ValidationError(f"file is at most {MAX_FILE_CHARS} characters", field="file")
        record = MapRecord(
            commit.file,
            commit.map,
            commit.chunks,
            commit.size,
            state.pipeline.now_ms(),
            commit.debug_id,
            commit.bundle_sha256,
        )
        gone = await maps.storage.commit(release, record, replace=commit.replace)
        maps.resolver.forget(release)
        return json_response(200, {"release": release, "file": record.file, "deleted": gone})
    if len(parts) == 1 and request.method in ("GET", "HEAD"):
        known = await maps.storage.index(release)
        listed: list[dict[str, Any]] = [
            {k: v for k, v in msgspec.to_builtins(r).items() if v is not None}
            for r in known.values()
        ]
        return json_response(200, {"release": release, "maps": listed})
    raise ValidationError(
        "use PUT /sourcemaps/{release}/{map}/{chunk}, POST or GET /sourcemaps/{release}",
        field="path",
        status=404,
    )


def _index(text: str) -> int:
    if not text.isdigit() or len(text) > 6:
        raise ValidationError("a chunk number is 0 or more", field="chunk")
    return int(text)
