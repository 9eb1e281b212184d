// Generated from src/tracesink/rules.json by `python -m tracesink.edge_rules > edge/src/rules.js`;
// do not edit: change rules.json and regenerate (tests/unit/test_rules.py fails while stale).

export const RULES = {
  "about": [
    "The one definition of the rules both ingesters enforce: the Python service loads this file",
    "(src/tracesink/rules.py) and the edge Worker imports a generated copy of it",
    "(edge/src/rules.js, `python -m tracesink.edge_rules > edge/src/rules.js`; a test fails while it is",
    "stale). Change a default, a limit, a message or a key here, nowhere else. Messages hold",
    "{placeholders} that both runtimes fill the same way (tracesink.rules.message, edge/src/messages.js)."
  ],
  "defaults": {
    "global_limit": 1000,
    "trace_limit": 100,
    "system_shares": {
      "browser": 40,
      "worker": 30,
      "convex": 30
    },
    "window_s": 3600,
    "ttl_s": 3600,
    "max_body_bytes": 1048576,
    "max_message_bytes": 16384,
    "max_context_bytes": 16384,
    "max_context_depth": 8,
    "max_batch_items": 1000,
    "cors_origins": [],
    "ingest_keys": {},
    "key_prefix": "",
    "max_commands_per_day": 0,
    "read_reserve": 10,
    "max_trace_entries": 1000
  },
  "keys": {
    "about": [
      "A key is <prefix><kind>{<tag>}<tail>, the braces literal (store/keys.py, docs/keys.md):",
      "TRACESINK_KEY_PREFIX (matching `prefix`), a kind, the tag (a trace id, or `shared_tag` for",
      "the keys one script call touches besides the trace lists), then a tail some kinds have."
    ],
    "prefix": "[A-Za-z0-9._:-]{0,64}",
    "kinds": {
      "trace": "logs:",
      "counters": "rl:",
      "day": "day:",
      "pin": "pin:",
      "pins": "pins:",
      "maps": "maps:",
      "map": "map:",
      "requests": "req:",
      "releases": "releases:"
    },
    "shared_tag": "tracesink",
    "expiry_slack_fraction": 10,
    "min_trace_entries": 2
  },
  "budget": {
    "about": "TRACESINK_READ_RESERVE: the share of the daily command budget kept for reads.",
    "max_read_reserve": 90
  },
  "entry": {
    "fields": {
      "about": [
        "Every field an entry may carry and the JSON types it takes, as msgspec names them in its",
        "errors. A field the code does not handle by name is checked against its types and stored",
        "as sent (a string, number or null), after received_at, in this order."
      ],
      "message": [
        "str"
      ],
      "trace_id": [
        "str",
        "null"
      ],
      "level": [
        "int",
        "str"
      ],
      "system": [
        "str",
        "null"
      ],
      "context": [
        "object",
        "null"
      ],
      "user_id": [
        "int",
        "str",
        "null"
      ],
      "stack": [
        "str",
        "null"
      ],
      "release": [
        "str",
        "null"
      ],
      "timestamp": [
        "float",
        "str",
        "null"
      ]
    },
    "required": [
      "message"
    ],
    "trace_id": "[A-Za-z0-9._:-]{1,128}",
    "release": "[A-Za-z0-9._:@+-]{1,128}",
    "system_name": "[a-z][a-z0-9_.-]{0,31}",
    "manual": "manual",
    "levels": [
      "log",
      "info",
      "warn",
      "error"
    ],
    "level_aliases": {
      "debug": "log",
      "trace": "log",
      "notset": "log",
      "warning": "warn",
      "critical": "error",
      "fatal": "error"
    },
    "numeric_levels": [
      [
        40,
        "error"
      ],
      [
        30,
        "warn"
      ],
      [
        20,
        "info"
      ],
      [
        0,
        "log"
      ]
    ],
    "max_user_id_chars": 256,
    "max_timestamp_ms": 253402300800000,
    "seconds_below": 100000000000,
    "max_nesting": 256,
    "excerpt_chars": 24,
    "timestamp_nudge_ms": 0.0005,
    "timestamp_iso": "(\\d{4})(?:-(\\d\\d)-(\\d\\d)|(\\d\\d)(\\d\\d)|-W(\\d\\d)(?:-([1-7]))?|W(\\d\\d)([1-7])?)(?:[Tt ](\\d\\d)(?::?(\\d\\d)(?::?(\\d\\d)(?:[.,](\\d+))?)?)?([Zz]|[+-]\\d\\d(?::?\\d\\d(?::?\\d\\d)?)?)?)?",
    "timestamp_offset": "([+-])(\\d\\d):?(\\d\\d)?:?(\\d\\d)?"
  },
  "clock": {
    "about": [
      "Clock correction (docs/http-api.md, \"Clock correction\"): a request carries its sender's",
      "clock as ?param= or the header (the header wins); offset = receive time - sent clock",
      "corrects the entries' own times when min_offset_ms <= |offset| < max_offset_ms, and such an",
      "entry keeps the time it was sent with and the offset in the two stored fields, after",
      "received_at (before any field stored as sent)."
    ],
    "param": "clock",
    "header": "x-client-clock",
    "min_offset_ms": 1000,
    "max_offset_ms": 86400000,
    "sent_field": "sent_timestamp",
    "offset_field": "clock_offset_ms"
  },
  "messages": {
    "trace_id": "trace_id must be 1 to 128 characters from A-Z a-z 0-9 . _ : -",
    "x_trace_id": "X-Trace-Id: {rule}",
    "traceparent_form": "traceparent must be version-traceid-parentid-flags in lowercase hex, like 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "traceparent_version": "traceparent version ff is invalid",
    "traceparent_fields": "traceparent version 00 has exactly four fields",
    "traceparent_zero": "traceparent has an all-zero trace id or parent id, which is invalid",
    "trace_id_missing": "trace_id is missing: send it in the entry, or as an X-Trace-Id or traceparent header",
    "system_name": "a-z, 0-9, '_', '.', '-', starting with a letter, at most 32 characters",
    "system_label": "{field} must be a system name ({rule})",
    "level": "level must be one of {levels}, an alias ({aliases}) or a logging number, got {given}",
    "level_negative": "level must not be a negative number",
    "user_id": "user_id must be at most {max} characters",
    "release": "release must be 1-128 of A-Z a-z 0-9 . _ : @ + -",
    "system_pinned": "this ingest key logs as system {pinned} only, not {given}",
    "context_object": "context must be a JSON object",
    "context_bytes": "context is larger than {max} bytes as JSON",
    "context_depth": "context is nested deeper than {max} levels",
    "context_utf8": "context is not valid UTF-8",
    "too_deep": "{place} is nested too deeply (more than {max} levels)",
    "number_range": "{field} holds a number beyond the range of a 64-bit float, which no reader can show: {written}",
    "timestamp_form": "timestamp must be milliseconds since the epoch or an ISO 8601 string",
    "clock": "clock must be the sender's clock in milliseconds since the epoch (digits only)",
    "timestamp_negative": "timestamp must be a positive number",
    "timestamp_range": "timestamp is out of range",
    "body_utf8": "body is not valid UTF-8",
    "body_json": "body is not valid JSON: {detail}",
    "not_an_object": "an entry must be a JSON object; {detail}",
    "batch_empty": "the batch holds no entries",
    "batch_array": "body is not a valid JSON array",
    "batch_items": "the batch holds {count} entries; at most {max} (TRACESINK_MAX_BATCH_ITEMS)",
    "body_too_large": "request body is larger than {max} bytes (TRACESINK_MAX_BODY_BYTES)",
    "ingest_key_missing": "sending logs needs a valid ingest key in X-Tracesink-Key or ?key=",
    "ingest_key_origin": "this ingest key is not valid for origin {origin}",
    "origin_malformed": "Origin must be scheme://host[:port] or null",
    "origin_refused": "origin {origin} may not send logs here (TRACESINK_CORS_ORIGINS)",
    "quota": "{level} quota exceeded for trace {trace_id} (per {window_s}s window)",
    "budget_spent": "the daily store budget is spent ({variable}={value}); ingest resumes at 00:00 UTC",
    "unknown_system": "system '{system}' is not configured (TRACESINK_SYSTEM_SHARES): stored under its label and counted as manual",
    "store_unavailable": "the store is unavailable; retry later",
    "setting_invalid": "{variable}={shown} is not valid: expected {expected}",
    "setting_whole": "a whole number",
    "setting_positive": "a whole number of at least 1",
    "setting_count": "a whole number (0 for none)",
    "setting_count_negative": "a whole number, 0 or more",
    "setting_shares": "a list like browser=40,worker=30,convex=30 (percentages of the global limit)",
    "setting_shares_name": "{accepted}; a system name is {rule}, got '{name}'",
    "setting_shares_manual": "{accepted}; manual has no share: it counts against the global limit",
    "setting_shares_range": "{accepted}; each share from 0 to 100",
    "setting_shares_sum": "{accepted}; the shares add up to more than 100",
    "setting_origins": "a comma-separated list of origins like https://app.example.com",
    "setting_ingest_keys": "a list like pk_web@browser=https://app.example.com|https://b.example,pk_cli=* (@system optional: a system name, {rule})",
    "setting_ingest_key_length": "{accepted}; each key at least 8 characters",
    "setting_reserve": "a percentage from 0 to {max}",
    "setting_trace_entries": "a whole number of at least {min}",
    "setting_key_prefix": "up to 64 of A-Z a-z 0-9 . _ : - (e.g. 'dev:'), or empty for none"
  }
};
