"""The browser client's and the SDK's files as tracesink serves them: types, caching,
cross-origin loading, all five the same way."""

from __future__ import annotations

from importlib import resources

from tests.conftest import AppClient
from tracesink.app.routes import ROUTES
from tracesink.app.static_routes import STATIC_PATHS

STATIC = resources.files("tracesink").joinpath("static")


MEDIA_TYPES = {
    "client.js": "text/javascript; charset=utf-8",
    "client.mjs": "text/javascript; charset=utf-8",
    "client.d.mts": "text/plain; charset=utf-8",
    "sdk.mjs": "text/javascript; charset=utf-8",
    "sdk.d.ts": "text/plain; charset=utf-8",
}


async def test_static_files_are_served_with_their_media_types(sink: AppClient) -> None:
    """The scripts and modules are JavaScript (a module import refuses anything else), the
    types are text, all five with the same caching and cross-origin headers; each body is the
    packaged file, byte for byte."""
    for name, media in MEDIA_TYPES.items():
        response = await sink.http.get(f"/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == media
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        assert response.content == STATIC.joinpath(name).read_bytes()


async def test_a_known_etag_is_answered_with_304_and_no_body(sink: AppClient) -> None:
    """A page (or a copy script) revalidating its cached copy of any of the files gets 304
    while the file is unchanged (weak or strong tag, or ``*``), and the file again for a stale
    tag; each file has its own tag."""
    etags = set()
    for name in MEDIA_TYPES:
        first = await sink.http.get(f"/{name}")
        etag = first.headers["etag"]
        etags.add(etag)
        for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
            again = await sink.http.get(f"/{name}", headers={"if-none-match": header})
            assert again.status_code == 304, (name, header)
            assert again.content == b""
            assert again.headers["etag"] == etag
            assert again.headers["cache-control"] == "public, max-age=300"
        stale = await sink.http.get(f"/{name}", headers={"if-none-match": '"stale"'})
        assert stale.status_code == 200
    assert len(etags) == len(MEDIA_TYPES)


async def test_another_origin_may_load_the_script_and_import_the_module(sink: AppClient) -> None:
    """A module import from a page on another origin is a CORS request: the allowed origin is
    echoed; Cross-Origin-Resource-Policy lets isolated (COEP) pages embed it too."""
    response = await sink.http.get("/client.mjs", headers={"origin": "http://127.0.0.1:3000"})
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"


async def test_the_preflight_allows_the_headers_pages_send(sink: AppClient) -> None:
    """A page may send its ingest key and trace headers to tracesink from JavaScript."""
    response = await sink.http.options(
        "/logs",
        headers={
            "origin": "http://127.0.0.1:3000",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-tracesink-key, x-trace-id, traceparent",
        },
    )
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("x-tracesink-key", "x-trace-id", "traceparent"):
        assert header in allowed


def test_every_static_file_is_routed_and_has_a_media_type() -> None:
    """The paths CORS treats as the client's are the ones the app serves the files at, and
    every file there is one whose media type this suite pins."""
    assert set(ROUTES) >= STATIC_PATHS
    assert {f"/{name}" for name in MEDIA_TYPES} == STATIC_PATHS
