"""``GET /client.js``, ``/client.mjs``, ``/client.d.mts``, ``/sdk.mjs``, ``/sdk.d.ts``: the
browser client and the JavaScript SDK, served by the service they talk to, so that one
``<script>`` tag (or one ``curl -O``) is the whole setup and a deployment hands out the code that
matches its API.

Every file is served one way, by ``get_static``: read once from the package
(``tracesink/static/``) at import; JavaScript as ``text/javascript; charset=utf-8`` (a module
import refuses anything else), TypeScript types as ``text/plain; charset=utf-8`` (TypeScript has
no registered media type; ``application/typescript`` is not one either); a strong ETag (a hash of
the bytes) answered with 304 on ``If-None-Match``; a short ``max-age``, so that a page
revalidates at most every few minutes and a new tracesink version is picked up without a
cache-busting URL; HEAD as GET without the body (the router). ``Cross-Origin-Resource-Policy:
cross-origin`` lets pages on other origins (even ones that isolate themselves with COEP) load
them; for a module import (a CORS request) the app applies the ingest routes' CORS rule to these
paths (``STATIC_PATHS``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from tracesink.app.http import Request, Response
from tracesink.app.state import AppState

CACHE_CONTROL = b"public, max-age=300"
JAVASCRIPT = b"text/javascript; charset=utf-8"
TYPESCRIPT = b"text/plain; charset=utf-8"
CONTENT_TYPES = {".js": JAVASCRIPT, ".mjs": JAVASCRIPT, ".d.mts": TYPESCRIPT, ".d.ts": TYPESCRIPT}


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


# Path → file (app/application.py routes each to get_static); CORS lets whoever may send logs
# load them.
FILES = {
    f"/{name}": StaticFile.load(name)
    for name in ("client.js", "client.mjs", "client.d.mts", "sdk.mjs", "sdk.d.ts")
}
STATIC_PATHS = frozenset(FILES)


async def get_static(state: AppState, request: Request) -> Response:
    return FILES[request.path].answer(request)  # routed for STATIC_PATHS only
