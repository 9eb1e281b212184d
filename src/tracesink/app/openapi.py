"""The OpenAPI 3.1 description served at ``/openapi.json``: every route, assembled from the
schemas and parameters of ``openapi_schemas.py`` (built from the validators' own constants, so
the document cannot drift from what the service accepts)."""

from __future__ import annotations

from typing import Any

from tracesink import __version__
from tracesink.app.openapi_schemas import (
    BATCH_RESULT,
    CONVEX_RESULT,
    ENTRY,
    ENTRY_FILTERS,
    FORMAT_PARAM,
    INGEST_PARAMETERS,
    LEVEL_PARAM,
    LIMITED,
    LOG_RECORD_FORM,
    ORDER_PARAM,
    PIN,
    READ_SECURITY,
    SINCE_PARAM,
    STATIC_FILES,
    STORED,
    SYSTEM_PARAM,
    TRACE,
    TRACE_ID_PARAM,
    asset,
    errors,
    header,
    json_content,
    live_stream,
)
from tracesink.app.openapi_sourcemaps import RESOLVE_PARAM, SOURCEMAP_PATHS
from tracesink.app.viewer_routes import VIEWER_ASSETS


def openapi_document() -> dict[str, Any]:
    batch_body = {
        "application/json": {"schema": {"type": "array", "items": ENTRY, "minItems": 1}},
        "text/plain": {"schema": {"type": "string", "description": "a JSON array or NDJSON"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracesink",
            "version": __version__,
            "description": "One HTTP endpoint for browser, backend and edge-worker logs.",
        },
        "paths": {
            "/log": {
                "post": {
                    "summary": "Store one entry",
                    "parameters": INGEST_PARAMETERS,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": ENTRY},
                            "text/plain": {"schema": {"type": "string"}},
                            "application/x-www-form-urlencoded": {"schema": LOG_RECORD_FORM},
                        },
                    },
                    "responses": {
                        "200": json_content(STORED, "stored"),
                        "202": json_content(STORED, "queued on disk: the store is unreachable"),
                        "429": LIMITED,
                        **errors(400, 401, 403, 408, 413, 503),
                    },
                }
            },
            "/logs": {
                "post": {
                    "summary": "Store a batch (JSON array or NDJSON)",
                    "parameters": INGEST_PARAMETERS,
                    "requestBody": {"required": True, "content": batch_body},
                    "responses": {
                        "200": json_content(BATCH_RESULT, "per-item outcome"),
                        "202": json_content(
                            BATCH_RESULT, "per-item outcome; accepted items are queued"
                        ),
                        "429": LIMITED,
                        **errors(400, 401, 403, 408, 413, 503),
                    },
                }
            },
            "/v1/logs": {
                "post": {
                    "summary": "OTLP/HTTP logs (protobuf or JSON, gzip or not)",
                    "parameters": [
                        p
                        for p in INGEST_PARAMETERS
                        if p["name"] in ("X-Log-System", "X-Tracesink-Key", "key")
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-protobuf": {
                                "schema": {"type": "string", "format": "binary"}
                            },
                            "application/json": {
                                "schema": {"type": "object", "description": "OTLP/JSON"}
                            },
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "ExportLogsServiceResponse, with partial_success "
                            "when some records were refused",
                            "content": {
                                "application/x-protobuf": {
                                    "schema": {"type": "string", "format": "binary"}
                                },
                                "application/json": {"schema": {"type": "object"}},
                            },
                        },
                        **{
                            str(code): {"description": reason + " (a google.rpc.Status)"}
                            for code, reason in (
                                (400, "malformed payload"),
                                (413, "body or decompressed body too large"),
                                (415, "unsupported Content-Type or Content-Encoding"),
                                (429, "every record refused by a limit; see Retry-After"),
                            )
                        },
                        **errors(401, 403, 408, 503),
                    },
                }
            },
            "/ingest/convex": {
                "post": {
                    "summary": "A Convex log stream's webhook delivery (JSON array or JSONL)",
                    "parameters": [
                        header(
                            "x-webhook-signature",
                            {"type": "string"},
                            "sha256=<hex HMAC-SHA256 of the body with "
                            "TRACESINK_CONVEX_WEBHOOK_SECRET>",
                        )
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"type": "array"}},
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": json_content(CONVEX_RESULT, "the delivery was understood"),
                        **errors(400, 401, 403, 408, 413, 503),
                    },
                }
            },
            "/logs/{trace_id}": {
                "get": {
                    "summary": "A trace by event time (or arrival), with drop markers in place",
                    "security": READ_SECURITY,
                    "parameters": [
                        TRACE_ID_PARAM,
                        *ENTRY_FILTERS,
                        RESOLVE_PARAM,
                        ORDER_PARAM,
                        FORMAT_PARAM,
                    ],
                    "responses": {
                        "200": {
                            **json_content(TRACE, "the trace"),
                            "content": {
                                **json_content(TRACE, "")["content"],
                                "application/x-ndjson": {"schema": {"type": "string"}},
                                "text/markdown": {"schema": {"type": "string"}},
                            },
                        },
                        **errors(400, 401, 404, 406, 429, 503),
                    },
                },
                "put": {
                    "summary": "Import an exported trace (NDJSON or the JSON answer); not ingest",
                    "security": READ_SECURITY,
                    "parameters": [
                        TRACE_ID_PARAM,
                        {
                            "name": "replace",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean"},
                        },
                    ],
                    "responses": {
                        "200": json_content({"type": "object"}, "imported"),
                        **errors(400, 401, 409, 413, 429, 503),
                    },
                },
            },
            "/traces": {
                "get": {
                    "summary": "Recent traces, newest first",
                    "security": READ_SECURITY,
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                        LEVEL_PARAM,
                        SYSTEM_PARAM,
                        SINCE_PARAM,
                    ],
                    "responses": {
                        "200": json_content(
                            {
                                "type": "object",
                                "required": ["traces"],
                                "properties": {"traces": {"type": "array"}},
                            },
                            "traces",
                        ),
                        **errors(400, 401, 429, 503),
                    },
                }
            },
            "/logs/{trace_id}/pin": {
                "post": {
                    "summary": "Keep a trace past the TTL (a pinned trace's pin is replaced)",
                    "security": READ_SECURITY,
                    "parameters": [
                        TRACE_ID_PARAM,
                        {
                            "name": "for",
                            "in": "query",
                            "required": False,
                            "description": "7d, 12h, 30m, 90s or seconds (TRACESINK_PIN_S)",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": json_content(PIN, "the pin"),
                        **errors(400, 401, 404, 409, 413, 429, 503),
                    },
                },
                "delete": {
                    "summary": "End a trace's pin: its normal expiry again",
                    "security": READ_SECURITY,
                    "parameters": [TRACE_ID_PARAM],
                    "responses": {
                        "200": json_content({"type": "object"}, "unpinned"),
                        **errors(400, 401, 404, 429, 503),
                    },
                },
            },
            "/logs/{trace_id}/live": live_stream(
                "New entries of one trace, live", [TRACE_ID_PARAM, RESOLVE_PARAM]
            ),
            "/live": live_stream("New entries of every trace, live", [RESOLVE_PARAM]),
            **SOURCEMAP_PATHS,
            "/stats": {
                "get": {
                    "summary": "Entries accepted and refused, store spending, cost estimate",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": json_content({"type": "object"}, "this instance's figures"),
                        **errors(401),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "The same figures in Prometheus text format",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": {
                            "description": "Prometheus exposition format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **errors(401),
                    },
                }
            },
            **{
                path: {
                    "get": {
                        "summary": summary,
                        "responses": {
                            "200": {
                                "description": "the file, with an ETag",
                                "content": {media: {"schema": {"type": "string"}}},
                            },
                            # If-None-Match is not listed as a parameter: any string is a
                            # valid one, so a fuzzer's negative mode could generate none
                            "304": {"description": "not modified (If-None-Match named the ETag)"},
                        },
                    }
                }
                for path, media, summary in STATIC_FILES
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": json_content({"type": "object"}, "OpenAPI 3.1")},
                }
            },
            "/": {
                "get": {
                    "summary": "The viewer page (Accept: text/html), else the name, version and "
                    "routes as JSON",
                    "responses": {"200": json_content({"type": "object"}, "an index")},
                }
            },
            **{
                path: asset("The viewer's stylesheet", "text/css")
                if path.endswith(".css")
                else asset("A module of the viewer's script", "text/javascript")
                for path in VIEWER_ASSETS
            },
            "/favicon.ico": asset("The viewer's icon", "image/x-icon"),
            "/health": {
                "get": {
                    "summary": "ok, degraded (spooling) or unavailable",
                    "responses": {
                        "200": json_content({"type": "object", "required": ["status"]}, "up"),
                        "503": json_content(
                            {"type": "object", "required": ["status"]}, "store unreachable"
                        ),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["success", "error"],
                    "properties": {
                        "success": {"const": False},
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                    },
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
