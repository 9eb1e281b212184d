"""Uploading maps over HTTP and reading traces through them, in process on ``memory://``:
who may upload, what is refused and why, what a frame says when it stays raw, the folder
setting, and that no map is ever served back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import AppClient
from tests.support.sourcemap_bundle import MAP, STACK
from tracesink.sourcemaps.record import CHUNK_BYTES


async def upload(
    sink: AppClient,
    release: str,
    file: str,
    data: bytes = MAP,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    map_id = hashlib.sha256(data).hexdigest()[:32]
    pieces = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    for n, piece in enumerate(pieces):
        put = await sink.http.put(
            f"/sourcemaps/{release}/{map_id}/{n}", content=piece, headers=headers
        )
        if put.status_code != 200:
            return put
    record = {"file": file, "map": map_id, "chunks": len(pieces), "size": len(data)}
    return await sink.http.post(f"/sourcemaps/{release}", json=record, headers=headers)


async def frames(sink: AppClient, trace_id: str) -> list[dict[str, Any]]:
    trace = (await sink.http.get(f"/logs/{trace_id}", params={"resolve": "1"})).json()
    resolved: list[dict[str, Any]] = trace["entries"][0]["resolved"]
    return [f for f in resolved if "line" in f]


async def test_frames_resolve_through_an_uploaded_map_and_say_why_when_not(
    sink: AppClient,
) -> None:
    """After an upload, a frame of the release's bundle (query and hash on its URL ignored)
    shows its original file, line, column, function (named by its caller's call) and source
    line; a frame of a file without a map says so; the raw stack stays; without ``resolve``
    nothing is added."""
    assert (await sink.log(trace_id="t1", stack=STACK, release="web-1")).status_code == 200
    answer = await upload(sink, "web-1", "~/assets/app.js")
    assert answer.status_code == 200, answer.text
    first, second, other = await frames(sink, "t1")
    assert first["original"] == {
        "file": "../src/util.js",
        "line": 2,
        "column": 3,
        "function": "levelThree",
        "context": "  throw new Error('x');",
    }
    assert second["original"]["line"] == 5
    assert second["original"]["function"] == "o"  # the outermost resolved: no caller names it
    assert other["unresolved"] == "no source map for ~/lib.js in release web-1"
    plain = (await sink.http.get("/logs/t1")).json()["entries"][0]
    assert plain["stack"] == STACK
    assert "resolved" not in plain


async def test_frames_of_another_release_or_none_stay_raw_with_the_reason(
    sink: AppClient,
) -> None:
    """A map uploaded under one release never applies to another's stacks, nor to an entry
    sent without a release."""
    await upload(sink, "web-1", "~/assets/app.js")
    await sink.log(trace_id="t2", stack=STACK, release="web-2")
    await sink.log(trace_id="t3", stack=STACK)
    assert [f["unresolved"] for f in await frames(sink, "t2")][:1] == [
        "no source map for ~/assets/app.js in release web-2"
    ]
    assert all("has no release" in f["unresolved"] for f in await frames(sink, "t3"))


async def test_a_position_the_map_does_not_cover_or_a_broken_map_is_said(
    sink: AppClient,
) -> None:
    """A line the map has no segment on (a rebuilt bundle, most likely) and a map that is no
    v3 map each leave the frame raw with that reason."""
    await upload(sink, "web-1", "~/assets/app.js")
    await upload(sink, "web-1", "~/assets/broken.js", b'{"version": 2}')
    stack = (
        "Error: x\n    at a (https://s.example/assets/app.js:7:1)\n"
        "    at b (https://s.example/assets/broken.js:1:1)"
    )
    await sink.log(trace_id="t4", stack=stack, release="web-1")
    uncovered, broken = await frames(sink, "t4")
    assert "maps nothing at 7:1" in uncovered["unresolved"]
    assert "is unusable: not a version 3 source map" in broken["unresolved"]


async def test_only_the_read_token_uploads(make_app: Any) -> None:
    """With a read token set, an upload without it, or with an ingest key instead, is 401;
    with it, 200."""
    sink = await make_app(read_token="r" * 32, ingest_keys={"pk_web_key1": ("*",)})
    assert (
        await upload(sink, "w", "~/a.js", headers={"x-tracesink-key": "pk_web_key1"})
    ).status_code == 401
    assert (await upload(sink, "w", "~/a.js")).status_code == 401
    allowed = await upload(sink, "w", "~/a.js", headers={"authorization": "Bearer " + "r" * 32})
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("PUT", "/sourcemaps/v%201/" + "a" * 32 + "/0", b"x", 400, "release"),
        ("PUT", "/sourcemaps/w/NOTHEX/0", b"x", 400, "map"),
        ("PUT", "/sourcemaps/w/" + "a" * 32 + "/x", b"x", 400, "chunk"),
        ("PUT", "/sourcemaps/w/" + "a" * 32 + "/0", b"\xff\xfe", 400, "chunk"),
        ("PUT", "/sourcemaps/w/" + "a" * 32 + "/0", b"x" * (CHUNK_BYTES + 1), 413, "body"),
        ("PUT", "/sourcemaps/w/" + "a" * 32 + "/999", b"x", 413, "chunk"),
        ("POST", "/sourcemaps/w", b"nope", 400, "body"),
        ("POST", "/sourcemaps/w", b'{"file": "~/a.js"}', 400, "body"),
        ("DELETE", "/sourcemaps/w", b"", 405, "method"),
        ("GET", "/sourcemaps/w/x", b"", 404, "path"),
    ],
)
async def test_a_bad_upload_is_refused_naming_what_is_wrong(
    sink: AppClient, method: str, path: str, body: bytes, status: int, field: str
) -> None:
    """Every refusal names the field or limit it broke."""
    answer = await sink.http.request(method, path, content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field


async def test_no_map_is_ever_served(sink: AppClient) -> None:
    """Uploaded maps are read by the resolver only: no route answers with one."""
    await upload(sink, "web-1", "~/assets/app.js")
    for path in ("/assets/app.js.map", "/app.js.map", "/client.js.map", "/sourcemaps/web-1/x.map"):
        assert (await sink.http.get(path)).status_code == 404, path
    listed = (await sink.http.get("/sourcemaps/web-1")).json()
    assert [m["file"] for m in listed["maps"]] == ["~/assets/app.js"]
    assert "mappings" not in json.dumps(listed)


async def test_maps_deployed_in_a_folder_resolve_too(make_app: Any, tmp_path: Path) -> None:
    """TRACESINK_SOURCEMAPS_DIR/<release>/<path>.map maps ~/<path> of that release."""
    (tmp_path / "web-3" / "assets").mkdir(parents=True)
    (tmp_path / "web-3" / "assets" / "app.js.map").write_bytes(MAP)
    sink = await make_app(sourcemaps_dir=str(tmp_path))
    await sink.log(trace_id="t5", stack=STACK, release="web-3")
    first = (await frames(sink, "t5"))[0]
    assert first["original"]["line"] == 2
