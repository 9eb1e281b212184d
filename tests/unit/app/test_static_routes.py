"""The browser client's files as tracesink serves them: types, caching, cross-origin loading."""

from __future__ import annotations

from importlib import resources

from tests.conftest import AppClient
from tracesink.app.application import ROUTES
from tracesink.app.static_routes import CLIENT_PATHS

STATIC = resources.files("tracesink").joinpath("static")


async def test_client_files_are_served_with_their_media_types(sink: AppClient) -> None:
    """/client.js and /client.mjs are JavaScript (a module import refuses anything else), the
    types are text; each body is the packaged file, byte for byte."""
    for path, media in [
        ("client.js", "text/javascript"),
        ("client.mjs", "text/javascript"),
        ("client.d.mts", "text/plain"),
    ]:
        response = await sink.http.get(f"/{path}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == STATIC.joinpath(path).read_bytes()


async def test_a_known_etag_is_answered_with_304_and_no_body(sink: AppClient) -> None:
    """A page revalidating its cached copy gets 304 while the file is unchanged (weak or strong
    tag, or ``*``), and the file again for a stale tag."""
    first = await sink.http.get("/client.js")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"
    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again = await sink.http.get("/client.js", headers={"if-none-match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag
    stale = await sink.http.get("/client.js", headers={"if-none-match": '"stale"'})
    assert stale.status_code == 200


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


def test_every_client_path_is_routed() -> None:
    """The paths CORS treats as the client's are the ones the app serves the files at."""
    assert set(ROUTES) >= CLIENT_PATHS
