"""``GET /client.js``, ``/client.mjs``, ``/client.d.mts``: the browser client, served by the
service it talks to, so that one ``<script>`` tag is the whole setup.

The files ship inside the package (``tracesink/static/``) and are read once, at import. Each answer
carries a strong ETag (a hash of the bytes) and a short ``max-age``: a page revalidates at most
every few minutes and gets a 304 when nothing changed, and a new tracesink version is picked up
without a cache-busting URL. ``Cross-Origin-Resource-Policy: cross-origin`` lets pages on other
origins (even ones that isolate themselves with COEP) load it; for a module import (a CORS
request) the app applies the ingest routes' CORS rule to these paths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from tracesink.app.http import Request, Response
from tracesink.app.state import AppState

CACHE_CONTROL = b"public, max-age=300"
CONTENT_TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".mjs": b"text/javascript; charset=utf-8",
    ".d.mts": b"text/plain; charset=utf-8",  # TypeScript has no registered media type
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    etag: bytes
    content_type: bytes

    @classmethod
    def load(cls, name: str) -> StaticFile:
        body = resources.files("tracesink").joinpath("static", name).read_bytes()
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        suffix = next(s for s in sorted(CONTENT_TYPES, key=len, reverse=True) if name.endswith(s))
        return cls(body, etag, CONTENT_TYPES[suffix])

    def answer(self, request: Request) -> Response:
        headers = [
            (b"etag", self.etag),
            (b"cache-control", CACHE_CONTROL),
            (b"cross-origin-resource-policy", b"cross-origin"),
            (b"x-content-type-options", b"nosniff"),
        ]
        if _matches(request.headers.get("if-none-match"), self.etag):
            return Response(304, b"", headers)
        return Response(200, self.body, [(b"content-type", self.content_type), *headers])


def _matches(header: str | None, etag: bytes) -> bool:
    """Whether If-None-Match names this ETag (the weak comparison of RFC 9110), or is ``*``."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return etag in {tag.strip().removeprefix("W/").encode() for tag in header.split(",")}


# The paths these are served at (app/application.py's ROUTES); CORS lets whoever may send logs
# load them.
CLIENT_PATHS = frozenset({"/client.js", "/client.mjs", "/client.d.mts"})
CLIENT_JS = StaticFile.load("client.js")
CLIENT_MJS = StaticFile.load("client.mjs")
CLIENT_TYPES = StaticFile.load("client.d.mts")


async def get_client_js(state: AppState, request: Request) -> Response:
    return CLIENT_JS.answer(request)


async def get_client_mjs(state: AppState, request: Request) -> Response:
    return CLIENT_MJS.answer(request)


async def get_client_types(state: AppState, request: Request) -> Response:
    return CLIENT_TYPES.answer(request)
