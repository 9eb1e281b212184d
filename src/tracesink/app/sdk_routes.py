"""``GET /sdk.mjs`` and ``GET /sdk.d.ts``: the JavaScript SDK for Workers, Convex actions and Node,
served from the package so that a deployment hands out the SDK that matches its API.

The files are read once, at first request, from ``tracesink/static`` (package data).
"""

from __future__ import annotations

import functools
from importlib import resources

from tracesink.app.http import Request, Response
from tracesink.app.state import AppState

_TYPES = {
    "sdk.mjs": b"text/javascript; charset=utf-8",
    "sdk.d.ts": b"application/typescript; charset=utf-8",
}


@functools.cache
def _static(name: str) -> bytes:
    return resources.files("tracesink").joinpath("static", name).read_bytes()


def _serve(name: str) -> Response:
    headers = [
        (b"content-type", _TYPES[name]),
        (b"cache-control", b"public, max-age=300"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return Response(200, _static(name), headers)


async def get_sdk(state: AppState, request: Request) -> Response:
    return _serve("sdk.mjs")


async def get_sdk_types(state: AppState, request: Request) -> Response:
    return _serve("sdk.d.ts")
