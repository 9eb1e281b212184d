"""The route table: which handler answers each path and method, and who may call it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from tracesink import __version__
from tracesink.app.convex_routes import post_convex
from tracesink.app.http import Request, Response, error_response, json_response
from tracesink.app.import_routes import put_trace
from tracesink.app.ingest_routes import post_log, post_logs
from tracesink.app.live_routes import get_live, get_trace_or_live
from tracesink.app.metrics import get_metrics
from tracesink.app.openapi import openapi_document
from tracesink.app.otlp_routes import post_otlp_logs
from tracesink.app.pin_routes import delete_pin, is_pin_path, post_pin
from tracesink.app.read_routes import TRACE_PATH_PREFIX, get_health, get_stats, get_traces
from tracesink.app.sourcemap_routes import SOURCEMAPS_PREFIX, sourcemaps_route
from tracesink.app.state import AppState
from tracesink.app.static_routes import STATIC_PATHS, get_static
from tracesink.app.viewer_routes import (
    VIEWER_ASSETS,
    get_favicon,
    get_viewer_asset,
    viewer_page,
    wants_html,
)

Handler = Callable[[AppState, Request], Awaitable[Response]]
PUBLIC, READ, INGEST = "public", "read", "ingest"


@dataclass(frozen=True, slots=True)
class Route:
    handler: Handler
    access: (
        str  # PUBLIC, READ (bearer token when configured) or INGEST (ingest key when configured)
    )


_OPENAPI = msgspec.json.encode(openapi_document())


async def get_openapi(state: AppState, request: Request) -> Response:
    return Response(200, _OPENAPI, [(b"content-type", b"application/json")])


async def index(state: AppState, request: Request) -> Response:
    """The viewer for a browser; for any other client (no text/html in Accept) a JSON index."""
    if wants_html(request):
        return viewer_page(state)
    routes = [f"{method} {path}" for path, methods in ROUTES.items() for method in methods]
    routes.append(f"GET {TRACE_PATH_PREFIX}{{trace_id}}")
    routes.append(f"PUT {TRACE_PATH_PREFIX}{{trace_id}}")
    routes += [f"{m} {SOURCEMAPS_PREFIX}{{release}}" for m in ("GET", "POST")]
    routes.append(f"PUT {SOURCEMAPS_PREFIX}{{release}}/{{map}}/{{chunk}}")
    return json_response(200, {"name": "tracesink", "version": __version__, "routes": routes})


ROUTES: dict[str, dict[str, Route]] = {
    "/": {"GET": Route(index, PUBLIC)},
    "/log": {"POST": Route(post_log, INGEST)},
    "/logs": {"POST": Route(post_logs, INGEST)},
    "/v1/logs": {"POST": Route(post_otlp_logs, INGEST)},
    "/traces": {"GET": Route(get_traces, READ)},
    "/health": {"GET": Route(get_health, PUBLIC)},
    "/openapi.json": {"GET": Route(get_openapi, PUBLIC)},
    "/stats": {"GET": Route(get_stats, READ)},
    "/metrics": {"GET": Route(get_metrics, READ)},
    "/live": {"GET": Route(get_live, READ)},
    **{path: {"GET": Route(get_viewer_asset, PUBLIC)} for path in VIEWER_ASSETS},
    "/favicon.ico": {"GET": Route(get_favicon, PUBLIC)},
    # Signed by Convex (HMAC of the body): the signature is the credential, not an ingest key.
    "/ingest/convex": {"POST": Route(post_convex, PUBLIC)},
    # The browser client and the JS SDK: one way for every file (static_routes.py).
    **{path: {"GET": Route(get_static, PUBLIC)} for path in sorted(STATIC_PATHS)},
}
# The routes a complete request may take past the ASGI exchange (server/lane.py): the ingest
# routes, the hot path, whose answers are small and whole (never streamed).
LANE_PATHS = frozenset(
    path
    for path, methods in ROUTES.items()
    if set(methods) == {"POST"} and methods["POST"].access == INGEST
)
# Paths that take logs: CORS treats them apart from everything else, which reads (cors.py).
# The client and SDK files go with them: an origin that may send logs may load the code that
# sends them (a module import is a CORS request), and they hold nothing to read.
INGEST_PATHS = STATIC_PATHS | frozenset(
    path for path, methods in ROUTES.items() if any(r.access == INGEST for r in methods.values())
)
TRACE_ROUTE = {  # /logs/{trace_id} and /logs/{trace_id}/live; PUT: an import (import_routes.py)
    "GET": Route(get_trace_or_live, READ),
    "PUT": Route(put_trace, READ),
}
# /logs/{trace_id}/pin: a reader's decision (and the database's memory), so the read guard.
PIN_ROUTE = {"POST": Route(post_pin, READ), "DELETE": Route(delete_pin, READ)}
# /sourcemaps/{release}[/{map}/{chunk}]: the read token (or none on loopback), never an ingest key.
SOURCEMAPS_ROUTE = {m: Route(sourcemaps_route, READ) for m in ("GET", "POST", "PUT")}


def find_route(path: str, method: str) -> Route | Response:
    """The route for ``method`` on ``path``, or the 404 or 405 that says there is none."""
    methods = ROUTES.get(path)
    if methods is None and path.startswith(TRACE_PATH_PREFIX) and path != TRACE_PATH_PREFIX:
        methods = PIN_ROUTE if is_pin_path(path) else TRACE_ROUTE
    elif methods is None and path.startswith(SOURCEMAPS_PREFIX):
        methods = SOURCEMAPS_ROUTE
    if methods is None:
        return error_response(404, f"no route {path}", "path")
    route = methods.get(method)
    if route is None and method == "HEAD":
        route = methods.get("GET")  # the server sends the GET's headers without its body
    if route is None:
        allow = ", ".join((*methods, "HEAD") if "GET" in methods else tuple(methods))
        return error_response(
            405,
            f"{method} is not allowed on {path}; use {allow}",
            "method",
            headers=[(b"allow", allow.encode())],
        )
    return route
