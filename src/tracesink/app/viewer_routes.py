"""The viewer: ``GET /`` serves its page to a browser, ``/viewer/*`` its modules and stylesheet,
``/favicon.ico`` its icon (a browser asks for it on every page: answered, never a 404).

The page is rendered on the server (whether a read token is needed, the version) and filled by a
small script from the read API; the script reads the token from the tab's ``sessionStorage``,
so the page itself carries no log data and is public, like ``/health``. ``GET /`` keeps its JSON
index for a client that does not ask for HTML (``Accept`` without ``text/html``: curl, httpx).
Everything is read once from the package at import: no build step, no download at run time.
"""

from __future__ import annotations

import hashlib
from html import escape
from importlib.resources import files

from tracesink import __version__
from tracesink.app.http import Request, Response
from tracesink.app.state import AppState

_ASSETS = files("tracesink") / "static" / "viewer"
_PAGE = (_ASSETS / "index.html").read_text(encoding="utf-8")
_MODULES = (
    "viewer.js",
    "trace-view.js",
    "entry-details.js",
    "timeline.js",
    "live.js",
    "format.js",
    "dom.js",
)
_ICON = (_ASSETS / "favicon.ico").read_bytes()  # 16x16, a PNG inside an ICO: 167 bytes
_ICON_CACHE = b"public, max-age=86400"  # asked for on every page; it never matters if stale

# Only this origin's script, style and API; no inline script, no framing, no referrer leak.
_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    b"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def _asset(name: str, content_type: bytes) -> tuple[bytes, bytes, bytes]:
    body = (_ASSETS / name).read_bytes()
    return body, b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"', content_type


# Path → (body, ETag, content type): the page's ES modules (a module import wants a JavaScript
# media type) and its stylesheet; app/application.py routes each to get_viewer_asset.
VIEWER_ASSETS = {
    **{f"/viewer/{name}": _asset(name, b"text/javascript; charset=utf-8") for name in _MODULES},
    "/viewer/viewer.css": _asset("viewer.css", b"text/css; charset=utf-8"),
}


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def viewer_page(state: AppState) -> Response:
    page = _PAGE.replace("{token_required}", "true" if state.settings.read_token else "false")
    page = page.replace("{version}", escape(__version__))
    # The empty list's curl says whether it needs an ingest key (never which one).
    page = page.replace("{ingest_key_required}", "true" if state.settings.ingest_keys else "false")
    return Response(
        200,
        page.encode(),
        [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"content-security-policy", _CSP),
            (b"x-frame-options", b"DENY"),
            *_COMMON,
        ],
    )


async def get_viewer_asset(state: AppState, request: Request) -> Response:
    """A module or the stylesheet: ``no-cache`` with a strong ETag, so that a page and its
    modules are always of one version (a revalidation is a 304), as the page itself is."""
    body, etag, content_type = VIEWER_ASSETS[request.path]  # routed for VIEWER_ASSETS only
    headers = [(b"etag", etag), (b"cache-control", b"no-cache"), *_COMMON]
    if request.headers.get("if-none-match", "").strip() == etag.decode():
        return Response(304, b"", headers)
    return Response(200, body, [(b"content-type", content_type), *headers])


async def get_favicon(state: AppState, request: Request) -> Response:
    return Response(
        200,
        _ICON,
        [
            (b"content-type", b"image/x-icon"),
            (b"cache-control", b"public, max-age=86400"),
            *_COMMON,
        ],
    )
