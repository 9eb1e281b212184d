"""The OpenAPI description of the source-map upload routes (app/sourcemap_routes.py)."""

from __future__ import annotations

from typing import Any

from tracesink.app.openapi_schemas import READ_SECURITY, errors, json_content
from tracesink.ingest.validate import RELEASE
from tracesink.sourcemaps.record import CHUNK_BYTES, MAP_ID

RELEASE_PARAM = {
    "name": "release",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{RELEASE.pattern}$"},
}
MAP_PARAMS = [
    {
        "name": "map",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{MAP_ID.pattern}$"},
        "description": "the first 32 hex digits of the map's sha256",
    },
    {"name": "chunk", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
]
COMMIT = {
    "type": "object",
    "required": ["file", "map", "chunks", "size"],
    "properties": {
        "file": {"type": "string", "description": "~/assets/app.js (any host) or a full URL"},
        "map": {"type": "string", "pattern": f"^{MAP_ID.pattern}$"},
        "chunks": {"type": "integer", "minimum": 1},
        "size": {"type": "integer", "minimum": 1},
        "debug_id": {"type": "string"},
        "bundle_sha256": {"type": "string"},
        "replace": {"type": "boolean", "description": "replace another map of the same file"},
    },
}
ANSWER = {"type": "object"}

SOURCEMAP_PATHS: dict[str, Any] = {
    "/sourcemaps/{release}": {
        "get": {
            "summary": "The release's source maps (their records, never their contents)",
            "security": READ_SECURITY,
            "parameters": [RELEASE_PARAM],
            "responses": {"200": json_content(ANSWER, "the maps"), **errors(400, 401, 429, 503)},
        },
        "post": {
            "summary": "Index a map whose chunks are all stored",
            "security": READ_SECURITY,
            "parameters": [RELEASE_PARAM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": COMMIT}}},
            "responses": {
                "200": json_content(ANSWER, "indexed; older releases deleted"),
                **errors(400, 401, 409, 413, 429, 503),
            },
        },
    },
    "/sourcemaps/{release}/{map}/{chunk}": {
        "put": {
            "summary": f"Store one chunk of a map (at most {CHUNK_BYTES} bytes of UTF-8)",
            "security": READ_SECURITY,
            "parameters": [RELEASE_PARAM, *MAP_PARAMS],
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            },
            "responses": {"200": json_content(ANSWER, "stored"), **errors(400, 401, 413, 503)},
        }
    },
}
RESOLVE_PARAM = {
    "name": "resolve",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["1", "true"]},
    "description": "add `resolved` to each entry with a stack: its frames through the "
    "release's source maps",
}
