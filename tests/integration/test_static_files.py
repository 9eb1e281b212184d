"""The browser client's and the SDK's files over real HTTP from a real ``tracesink serve``: each
with its media type, ETag, caching policy and cross-origin headers, a 304 for a known ETag, and
HEAD with the same headers and no body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import httpx
import pytest

from tests.support.service import Service, serving

pytestmark = pytest.mark.slow

STATIC = resources.files("tracesink").joinpath("static")
MEDIA_TYPES = {
    "client.js": "text/javascript; charset=utf-8",
    "client.mjs": "text/javascript; charset=utf-8",
    "client.d.mts": "text/plain; charset=utf-8",
    "sdk.mjs": "text/javascript; charset=utf-8",
    "sdk.d.ts": "text/plain; charset=utf-8",
}
SAME_FOR_ALL = {
    "cache-control": "public, max-age=300",
    "cross-origin-resource-policy": "cross-origin",
    "x-content-type-options": "nosniff",
}


@pytest.fixture(scope="module")
def sink() -> Iterator[Service]:
    with serving() as service:
        yield service


@pytest.mark.parametrize("name", MEDIA_TYPES)
def test_each_file_is_served_one_way(sink: Service, name: str) -> None:
    """GET: the packaged bytes, the media type for the file's kind, a strong ETag and the same
    caching policy as every other file; If-None-Match with that ETag: 304, no body, the same
    ETag; HEAD: the GET's headers (its length too) and no body."""
    with httpx.Client(base_url=sink.url, timeout=10) as http:
        got = http.get(f"/{name}")
        assert got.status_code == 200
        assert got.content == STATIC.joinpath(name).read_bytes()
        assert got.headers["content-type"] == MEDIA_TYPES[name]
        assert {k: got.headers[k] for k in SAME_FOR_ALL} == SAME_FOR_ALL
        etag = got.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong (W/ would be weak): the bytes' hash

        cached = http.get(f"/{name}", headers={"if-none-match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == SAME_FOR_ALL["cache-control"]

        head = http.head(f"/{name}")
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["etag"] == etag
        assert head.headers["content-type"] == MEDIA_TYPES[name]
        assert head.headers["content-length"] == str(len(got.content))
