"""The configuration reference, docs/configuration.md, rendered from the settings themselves.

Names, flags and defaults come from ``config.OPTIONS`` and ``config.Settings``; only the meaning of
each setting is written here, and it must exist for every option (an option added without one
fails at import and in tests/unit/test_docs.py, which also fails while docs/configuration.md
differs from what this renders). Regenerate with::

    python -m tracesink.config_reference > docs/configuration.md
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from tracesink.config import IGNORED_ENV, OPTIONS, Option, Settings

# What each setting does, for the reference table (Markdown; a literal "|" written as "\\|").
MEANINGS: Mapping[str, str] = {
    "host": "address to listen on",
    "port": "port to listen on",
    "store": (
        "`memory://`, `redis://[:password@]host:port/db`, `rediss://…` (TLS), "
        "`redis+unix:///path.sock`, `upstash+https://:TOKEN@HOST` (Upstash's REST API; "
        "`upstash+http://` for a local REST-compatible server), or `upstash` to take "
        "`UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` from the environment"
    ),
    "global_limit": "entries per window, all systems together",
    "system_shares": (
        "the systems and each one's share of the global limit, in percent, adding up to 100 at "
        "most (`browser=30,worker=25,convex=25,python=20` adds a system)"
    ),
    "trace_limit": "entries per window for one trace",
    "window_s": "rate-limit window, seconds",
    "ttl_s": "a trace is kept this long after its last write",
    "max_body_bytes": "largest request body (413 beyond)",
    "max_message_bytes": "longer messages and stacks are truncated",
    "max_context_bytes": "largest `context`, as JSON",
    "max_context_depth": "deepest nesting in `context`",
    "max_batch_items": "most entries in one `POST /logs`",
    "max_batch": "most entries the writer sends to the store in one step",
    "max_queue": "most entries waiting for the store (503 beyond)",
    "cors_origins": (
        "comma-separated origins allowed to send from a browser; listed by name, also to "
        "read (`*` never grants reads)"
    ),
    "read_token": "bearer token for `GET /logs/…` and `/traces`; at least 16 characters",
    "insecure": "allow serving beyond loopback without a read token (says so loudly)",
    "ingest_keys": (
        "public ingest keys, each with its origins, optionally pinned to the one system its "
        "clients log as: "
        "`pk_web@browser=https://app.example.com\\|https://b.example,pk_cli=*`"
    ),
    "trusted_proxies": (
        "IPs or CIDRs of proxies in front whose `X-Forwarded-For` / `Forwarded` is believed "
        "(see [Security](security.md#behind-a-proxy-or-a-tunnel))"
    ),
    "read_timeout_s": "seconds a client may take to send its whole body (408 beyond)",
    "header_timeout_s": (
        "seconds a client may take to send a request line and headers (408 beyond; an idle "
        "connection is closed); also the longest a connection answered before its body arrived "
        "lingers, and an answer the client stops reading may stall"
    ),
    "max_header_bytes": "largest request line and headers together (431 beyond)",
    "max_concurrency": (
        "most requests served at once by one process, idle connections not counted (503 beyond)"
    ),
    "spool_dir": (
        "where batches wait while the store is unreachable (a spool holding batches for "
        "another store is refused, never replayed); `off` for no spool (then an outage "
        "answers 503)"
    ),
    "spool_max_bytes": "largest spool (503 with `Retry-After` beyond)",
    "outage_share": (
        "percent of each limit one instance admits on its own during an outage (100/N for N "
        "instances keeps the total within the limits)"
    ),
    "max_commands_per_day": (
        "store commands per UTC day, every command counted (reads, health probes and live "
        "polls too) over every instance on the database (inside each batch's script call; an "
        "instance that only reads publishes its own; give every instance the same value); "
        "past `100 - TRACESINK_READ_RESERVE` percent of it ingest answers 429 `limited_by: "
        "budget`, past all of it reads answer 429 too, until midnight UTC"
    ),
    "read_reserve": (
        "percent (0 to 90) of the daily command budget ingest leaves to reads, so that an "
        "exhausted ingest can still be inspected"
    ),
    "price_per_100k_commands": "USD per 100,000 commands, for the cost estimate in `/stats`",
    "price_per_gb_month": "USD per GB-month stored, for the cost estimate",
    "otlp_fallback_trace": (
        "the trace of OTLP records that carry no trace id; `{service}` is their `service.name`"
    ),
    "otlp_service_systems": (
        "`service.name=system` pairs, the system of OTLP records sent without "
        "`X-Log-System` (`checkout-web=browser,api=python`)"
    ),
    "live_poll_s": (
        "on a shared store (Redis, Upstash), seconds between polls that bring other "
        "instances' entries into live streams, only while a stream is open; `0` shows this "
        "instance's entries only (see [Reading a trace](reading.md))"
    ),
    "key_prefix": (
        "put before every Redis key (`dev:` gives `dev:logs:{<trace_id>}`, braces and all), "
        "so deployments can share one database; no two prefixes (`kp:` and `kp:logs:` alike) "
        "ever name one key (see [Redis keys](keys.md#the-layout))"
    ),
    "max_trace_entries": (
        "the most items (entries and drop markers) one trace's list keeps, at least 2; past it "
        "the oldest are trimmed and the trace's read answer says how many went (`trimmed`). "
        "The default is 10x the default trace limit (a trace written at its limit for ten "
        "windows) and bounds what one read returns (see [Redis keys](keys.md#a-trace))"
    ),
    "convex_webhook_secret": (
        "the secret of a Convex log stream's webhook: `POST /ingest/convex` checks each "
        "delivery's `x-webhook-signature` with it, and answers 403 while it is unset"
    ),
}

# Defaults that are not a literal value of the dataclass field, in words.
DEFAULTS_IN_WORDS: Mapping[str, str] = {
    "cors_origins": "(loopback: any, to send only)",
    "spool_dir": "`~/.local/state/tracesink/spool-<port>-<store hash>`",
    "max_commands_per_day": "`0` (off)",
}

INTRO = """\
Every setting is an environment variable and a flag of `tracesink serve` (the flag wins;
`tracesink serve --help` lists them with their defaults). A bad value stops start-up with a message
naming it as you wrote it (the flag or the variable); an unknown `TRACESINK_*` variable does too,
suggesting the setting you probably meant."""

OUTRO = """\
With `TRACESINK_STORE=upstash`, the store's REST URL and token come from Upstash's own variables,
`UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (see
[Upstash as the store](deploy.md#upstash-as-the-store)).

`tracesink check` validates the settings and reaches the store; it exits 0 when both are
fine, 1 when the store cannot be reached, 2 when a setting is invalid (the message names
its variable or flag; a value left at the deploy template's `CHANGE-ME` is invalid).
`tracesink stats [--url http://127.0.0.1:8787] [--json]` prints a running instance's `/stats` in
the terminal (with `TRACESINK_READ_TOKEN` from the environment when reads are protected); the
other terminal commands are in [Reading a trace](reading.md)."""

missing = {option.name for option in OPTIONS} ^ set(MEANINGS)
assert not missing, f"config_reference.MEANINGS and config.OPTIONS differ: {sorted(missing)}"


def shown_default(option: Option) -> str:
    """The default as a user would write it in the variable, or ``(none)``."""
    if option.name in DEFAULTS_IN_WORDS:
        return DEFAULTS_IN_WORDS[option.name]
    value: Any = {f.name: f for f in fields(Settings)}[option.name].default
    if value is MISSING:  # a field with a default_factory
        value = getattr(Settings(), option.name)
    if value is None or value in ("", (), {}):
        return "(none)"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, Mapping):
        text = ",".join(f"{key}={item}" for key, item in value.items())
    elif isinstance(value, tuple):
        text = ",".join(str(item) for item in value)
    elif isinstance(value, float):
        text = f"{value:.2f}" if value < 1 else f"{value:g}"
    else:
        text = str(value)
    return f"`{text}`"


def render() -> str:
    """docs/configuration.md, whole."""
    rows = [
        f"| `{o.env}` | `{o.flag}` | {shown_default(o)} | {MEANINGS[o.name]} |" for o in OPTIONS
    ]
    others = ", ".join(f"`{name}`" for name in sorted(IGNORED_ENV))
    return "\n".join(
        [
            "# Configuration",
            "",
            "<!-- Generated from src/tracesink/config.py by "
            "`python -m tracesink.config_reference > docs/configuration.md`; do not edit. -->",
            "",
            INTRO,
            "",
            "| variable | flag | default | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            f"Also read, by the terminal commands rather than the service: {others} (see "
            "[Reading a trace](reading.md)).",
            "",
            OUTRO,
            "",
        ]
    )


if __name__ == "__main__":
    print(render(), end="")
