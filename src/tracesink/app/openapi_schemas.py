"""The parts ``/openapi.json`` is built from: the schemas of what goes in and out, and the
parameters the routes share, each from the same constants the validators use."""

from __future__ import annotations

from typing import Any

from tracesink.ingest.model import AS_SENT
from tracesink.ingest.trace_context import TRACE_ID
from tracesink.ingest.validate import MAX_USER_ID_CHARS, RELEASE
from tracesink.model import LEVEL_ALIASES, LOG_LEVELS, SYSTEM_NAME
from tracesink.rules import FIELDS

TRACE_ID_SCHEMA = {"type": "string", "pattern": f"^{TRACE_ID.pattern}$"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _optional(where: str, name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An optional parameter ``where`` (header, query) of the request."""
    return {
        "name": name,
        "in": where,
        "required": False,
        "schema": schema,
        "description": description,
    }


def header(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return _optional("header", name, schema, description)


CLOCK_SCHEMA = {"type": "string", "pattern": "^[0-9]{1,15}$"}

# What every ingest route reads besides its body.
INGEST_PARAMETERS: list[dict[str, Any]] = [
    header(
        "X-Trace-Id",
        TRACE_ID_SCHEMA,
        "the trace of entries that carry no trace_id of their own",
    ),
    header(
        "traceparent",
        {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
        "W3C trace context: its trace id is the trace of entries without a trace_id "
        "(when X-Trace-Id is absent)",
    ),
    header(
        "X-Log-System",
        {"type": "string", "pattern": f"^{SYSTEM_NAME.pattern}$"},
        "the system of entries that name none; one that is not configured is stored under its "
        "label and counted as manual",
    ),
    header(
        "X-Tracesink-Key",
        {"type": "string"},
        "a public ingest key, when TRACESINK_INGEST_KEYS is set",
    ),
    {
        "name": "key",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "the ingest key, for clients that cannot set headers (sendBeacon)",
    },
    header(
        "X-Client-Clock",
        CLOCK_SCHEMA,
        "the sender's clock (ms since the epoch) when it sent this request: corrects the "
        "entries' times by the sender's offset (docs/http-api.md, clock correction)",
    ),
    {
        "name": "clock",
        "in": "query",
        "required": False,
        "schema": CLOCK_SCHEMA,
        "description": "X-Client-Clock, for clients that cannot set headers (sendBeacon)",
    },
]


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "invalid input; `field` names what was wrong",
        401: "a credential is missing or wrong (read token, ingest key)",
        403: "the origin is not allowed, or the route is off (Convex: no secret set)",
        404: "not found",
        408: "the body did not arrive within the read timeout",
        406: "Accept names no shape this route answers in",
        409: "a bound or a conflict: a pin past TRACESINK_MAX_PINS or TRACESINK_MAX_PIN_BYTES "
        "(`field` names it), the trace exists (an import without replace), or a release's other "
        "source map for that file (a rebuilt bundle)",
        413: "the body (or batch) is larger than allowed",
        429: "the daily command budget is spent (TRACESINK_MAX_COMMANDS_PER_DAY); see Retry-After",
        503: "overloaded, store unreachable without a spool, spool full, or every read slot "
        "busy past the read deadline (`field`: read capacity); see Retry-After",
    }
    return {str(code): json_content(ERROR, reasons[code]) for code in codes}


# The rules file's names of JSON types (msgspec's) as JSON Schema names them.
_JSON_SCHEMA_TYPES = {"str": "string", "int": "integer", "float": "number", "null": "null"}

ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "trace_id": {
            **TRACE_ID_SCHEMA,
            "description": "absent: taken from X-Trace-Id, else from traceparent",
        },
        "message": {"type": "string", "description": "longer than the cap: truncated, marked"},
        "level": {
            "oneOf": [
                {"type": "string", "enum": [*LOG_LEVELS, *LEVEL_ALIASES]},
                {"type": "integer", "minimum": 0, "description": "Python logging's numbers"},
            ],
            "default": "log",
            "description": "case-insensitive",
        },
        "system": {
            "type": "string",
            "pattern": f"^{SYSTEM_NAME.pattern}$",
            "description": "a configured system (TRACESINK_SYSTEM_SHARES) or manual; any "
            "other is stored under its label and counted as manual",
        },
        "context": {"type": "object", "description": "any JSON object, depth and size capped"},
        "user_id": {"type": ["string", "integer"], "maxLength": MAX_USER_ID_CHARS},
        "stack": {"type": "string"},
        "release": {
            "type": "string",
            "pattern": f"^{RELEASE.pattern}$",
            "description": "the build that sent it: picks its stack's source maps when read",
        },
        "timestamp": {
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 1e14},
                {"type": "string", "format": "date-time"},
            ],
            "description": "ms since the epoch, seconds (below 1e11) or ISO 8601",
        },
        # Fields the rules file adds, stored as sent (ingest/model.py), with its types.
        **{name: {"type": [_JSON_SCHEMA_TYPES[kind] for kind in FIELDS[name]]} for name in AS_SENT},
    },
}

LIMITED: dict[str, Any] = {
    "description": "refused by a rate limit; see Retry-After",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["success", "error"],
                "properties": {
                    "success": {"const": False},
                    "trace_id": {"type": "string"},
                    "error": {"type": "string"},
                    "remaining_quota": {"type": "integer"},
                    "limited_by": {"type": "string"},
                    "accepted": {"type": "integer"},
                    "rejected": {"type": "array"},
                },
            }
        }
    },
}

STORED: dict[str, Any] = {
    "type": "object",
    "required": ["success", "trace_id", "id", "remaining_quota"],
    "properties": {
        "success": {"const": True},
        "trace_id": {"type": "string"},
        "id": {"type": "string"},
        "remaining_quota": {"type": "integer"},
        "queued": {"type": "boolean"},
        "note": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}

BATCH_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["success", "accepted", "ids", "rejected"],
    "properties": {
        "success": {"type": "boolean"},
        "accepted": {"type": "integer"},
        "ids": {"type": "array", "items": {"type": "string"}},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "reason", "retryable"],
                "properties": {
                    "index": {"type": "integer"},
                    "reason": {"type": "string"},
                    "retryable": {"type": "boolean"},
                },
            },
        },
        "queued": {"type": "boolean"},
        "warnings": {"type": "array", "items": {"type": "object"}},
    },
}

TRACE: dict[str, Any] = {
    "type": "object",
    "required": ["trace_id", "count", "entries", "expires_at", "dropped"],
    "properties": {
        "trace_id": {"type": "string"},
        "count": {"type": "integer"},
        "entries": {"type": "array", "items": {"type": "object"}},
        "order": {"enum": ["event", "arrival"]},
        "expires_at": {"type": ["string", "null"]},
        "dropped": {"type": "object"},
        "trimmed": {"type": "integer"},
        "pinned_until": {"type": ["string", "null"]},
    },
}

PIN: dict[str, Any] = {
    "type": "object",
    "required": ["trace_id", "pinned_until", "pinned_at", "bytes", "expires_at"],
    "properties": {
        "trace_id": {"type": "string"},
        "pinned_until": {"type": "string"},
        "pinned_at": {"type": "string"},
        "bytes": {"type": "integer"},
        "expires_at": {"type": "string"},
    },
}

# The browser client and the SDK (app/static_routes.py): path, media type, summary.
STATIC_FILES = [
    ("/client.js", "text/javascript", "The browser client: one <script> tag captures the console"),
    ("/client.mjs", "text/javascript", "The browser client as an ES module (init, getTraceId)"),
    ("/client.d.mts", "text/plain", "TypeScript types of the browser client"),
    ("/sdk.mjs", "text/javascript", "The JavaScript SDK (an ES module)"),
    ("/sdk.d.ts", "text/plain", "The SDK's TypeScript types"),
]

# Reads are open, or need a bearer token when TRACESINK_READ_TOKEN is set.
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}]

# What logging.handlers.HTTPHandler sends: a LogRecord's attributes, form-encoded, as text.
LOG_RECORD_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["msg"],
    "properties": {
        "msg": {"type": "string", "description": "formatted with args, as logging does"},
        "args": {"type": "string", "description": "the repr of the arguments' tuple"},
        "levelno": {"type": "string", "pattern": "^[0-9]{1,3}$"},
        "levelname": {"type": "string"},
        "name": {"type": "string", "description": "the logger; stored as context.logger"},
        "exc_text": {"type": "string", "description": "stored as stack"},
        "trace_id": {**TRACE_ID_SCHEMA, "description": "given with extra={'trace_id': …}"},
    },
    "description": "other fields that are not LogRecord attributes (extra) become context",
}

CONVEX_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["success", "accepted", "duplicates", "ignored", "rejected"],
    "properties": {
        "success": {"const": True},
        "accepted": {"type": "integer"},
        "duplicates": {"type": "integer", "description": "events this instance already stored"},
        "ignored": {"type": "object", "description": "events without an entry, by topic"},
        "rejected": {"type": "array", "items": {"type": "object"}},
    },
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return _optional("query", name, schema, description)


LEVEL_PARAM = _query("level", {"enum": ["log", "info", "warn", "error"]}, "this severity or worse")
SYSTEM_PARAM = _query("system", {"type": "string"}, "systems, comma-separated")
SINCE_PARAM = _query(
    "since", {"type": "string", "pattern": "^[0-9a-f]{12,64}$"}, "only ids greater than this"
)
TEXT_PARAM = _query("q", {"type": "string", "maxLength": 200}, "text, case-insensitive")
ENTRY_FILTERS = [LEVEL_PARAM, SYSTEM_PARAM, TEXT_PARAM, SINCE_PARAM]
FORMAT_PARAM = _query(
    "format", {"type": "string", "enum": ["json", "ndjson", "md"]}, "the answer's shape"
)
ORDER_PARAM = _query(
    "order", {"enum": ["event", "arrival"]}, "event (by when it happened, default) or arrival"
)
TRACE_ID_PARAM = {"name": "trace_id", "in": "path", "required": True, "schema": TRACE_ID_SCHEMA}
EVENT_STREAM = {
    "description": "server-sent events: id = entry id, data = the entry's JSON",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def asset(summary: str, media_type: str) -> dict[str, Any]:
    content = {media_type: {"schema": {"type": "string"}}}
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": summary, "content": content}},
        }
    }


def live_stream(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": READ_SECURITY,
            # A stream never ends by itself: request-response fuzzers skip operations with this.
            "x-stream": True,
            "parameters": [
                *parameters,
                *ENTRY_FILTERS,
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "responses": {"200": EVENT_STREAM, **errors(400, 401, 429, 503)},
        }
    }
