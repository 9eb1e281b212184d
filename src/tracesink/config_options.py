"""The table of every setting: its name, its parser and its help, declared once.

``config.load_settings`` reads the ``TRACESINK_*`` variables from it, ``cli`` generates every flag
from it and ``config_reference`` renders docs/configuration.md from it, so a flag, its variable and
its documentation can never drift apart. Defaults live on ``config.Settings``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracesink import config_values as values
from tracesink.masking import mask_url

ENV_PREFIX = "TRACESINK_"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    parse: Callable[[str], Any]
    # What the setting does, in Markdown: docs/configuration.md shows it as written, `--help` as
    # plain text (plain_help); the one text of it ("|" written "\\|": it sits in a table).
    help: str
    secret: bool = False  # never echo the value back, not even in an error
    shown_as: Callable[[str], str] = repr  # how a refused value is shown in the error
    switch: bool = False  # a CLI flag without a value (`--insecure`); the variable takes true/false

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def plain_help(self) -> str:
        """``help`` for a terminal: code marks dropped, a link as its words."""
        text = _LINK.sub(r"\1", self.help)
        return text.replace("`", "").replace("\\|", "|")


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [words](target)


OPTIONS: tuple[Option, ...] = (
    Option("host", values.host, "address to listen on"),
    Option("port", values.port, "port to listen on"),
    Option(
        "workers",
        values.workers,
        "server processes sharing the port, one per core (`auto`: as many as the cores this "
        "process may use); more than 1 needs a shared store (Redis or Upstash), since each "
        "process would have a `memory://` store of its own (see "
        "[Operations](operations.md#several-cores-workers))",
    ),
    Option(
        "store",
        values.store_url,
        "`memory://`, `redis://[:password@]host:port/db`, `rediss://…` (TLS), "
        "`redis+unix:///path.sock`, `redis+sentinel://[user:password@]host:port[,host:port…]/"
        "service[/db][?sentinel_password=…]` (a Sentinel-managed primary; `rediss+sentinel://` "
        "over TLS; see [Deploying](deploy.md#redis-with-sentinel)), "
        "`redis+cluster://[:password@]host:port[,host:port…]` (a Redis Cluster, any of its "
        "nodes; `rediss+cluster://` over TLS; see "
        "[Deploying](deploy.md#a-redis-cluster-as-the-store)), "
        "`upstash+https://:TOKEN@HOST` (Upstash's REST API; "
        "`upstash+http://` for a local REST-compatible server), or `upstash` to take "
        "`UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` from the environment",
        shown_as=lambda raw: repr(mask_url(raw)),
    ),
    Option("global_limit", values.positive_int, "entries per window, all systems together"),
    Option("trace_limit", values.positive_int, "entries per window for one trace"),
    Option(
        "system_shares",
        values.shares,
        "the systems and each one's share of the global limit, in percent, adding up to 100 at "
        "most (`browser=30,worker=25,convex=25,python=20` adds a system)",
    ),
    Option("window_s", values.positive_int, "rate-limit window, seconds"),
    Option("ttl_s", values.positive_int, "a trace is kept this long after its last write"),
    Option("max_body_bytes", values.positive_int, "largest request body (413 beyond)"),
    Option("max_message_bytes", values.positive_int, "longer messages and stacks are truncated"),
    Option("max_context_bytes", values.positive_int, "largest `context`, as JSON"),
    Option("max_context_depth", values.positive_int, "deepest nesting in `context`"),
    Option("max_batch_items", values.positive_int, "most entries in one `POST /logs`"),
    Option(
        "max_batch",
        values.positive_int,
        "most entries the writer sends to the store in one step",
    ),
    Option("max_queue", values.positive_int, "most entries waiting for the store (503 beyond)"),
    Option(
        "cors_origins",
        values.origins,
        "comma-separated origins allowed to send from a browser; listed by name, also to read"
        " (`*` never grants reads)",
    ),
    Option(
        "read_token",
        values.token,
        "bearer token for `GET /logs/…` and `/traces`; at least 16 characters",
        secret=True,
    ),
    Option(
        "insecure",
        values.flag,
        "allow serving beyond loopback without a read token (says so loudly)",
        switch=True,
    ),
    Option(
        "ingest_keys",
        values.ingest_keys,
        "public ingest keys, each with its origins, optionally pinned to the one system its "
        "clients log as: `pk_web@browser=https://app.example.com\\|https://b.example,pk_cli=*`",
        secret=True,
    ),
    Option(
        "trusted_proxies",
        values.networks,
        "IPs or CIDRs of proxies in front whose `X-Forwarded-For` / `Forwarded` is believed "
        "(see [Security](security.md#behind-a-proxy-or-a-tunnel))",
    ),
    Option(
        "read_timeout_s",
        values.positive_number,
        "seconds a client may take to send its whole body (408 beyond)",
    ),
    Option(
        "header_timeout_s",
        values.positive_number,
        "seconds a client may take to send a request line and headers (408 beyond; an idle "
        "connection is closed); also the longest a connection answered before its body arrived "
        "lingers",
    ),
    Option(
        "send_timeout_s",
        values.positive_number,
        "seconds an answer may wait for a client that takes none of it (a live stream, a big "
        "trace, pipelined requests never read); the connection is dropped beyond. As nginx's "
        "`send_timeout`: long enough for a slow reader on a loaded machine",
    ),
    Option(
        "max_header_bytes",
        values.positive_int,
        "largest request line and headers together (431 beyond)",
    ),
    Option(
        "max_concurrency",
        values.positive_int,
        "most requests served at once by one process, idle connections not counted (503 beyond)",
    ),
    Option(
        "spool_dir",
        str,
        "where batches wait while the store is unreachable (a spool holding batches for "
        "another store is refused, never replayed); `off` for no spool (then an outage "
        "answers 503)",
    ),
    Option("spool_max_bytes", values.positive_int, "largest spool (503 with `Retry-After` beyond)"),
    Option(
        "outage_share",
        values.percent,
        "percent of each limit one instance admits on its own during an outage (100/N for N "
        "instances keeps the total within the limits)",
    ),
    Option(
        "redis_wait_replicas",
        values.count,
        "on a Redis store (`redis://`, `rediss://`, `redis+sentinel://`), how many replicas must "
        "confirm each write batch (`WAIT`) before its entries are answered 200; `0` answers once "
        "the primary has them. Short of that within `TRACESINK_REDIS_WAIT_TIMEOUT_MS`, the "
        "batch is answered 202 queued and kept in the spool until the replicas have it (see "
        "[Reliability](reliability.md#replicas-and-failover))",
    ),
    Option(
        "redis_wait_timeout_ms",
        values.positive_int,
        "the longest one write batch waits for `TRACESINK_REDIS_WAIT_REPLICAS` replicas, in "
        "milliseconds",
    ),
    Option(
        "max_commands_per_day",
        values.count,
        "store commands per UTC day, every command counted (reads, health probes and live "
        "polls too) over every instance on the database (inside each batch's script call; an "
        "instance that only reads publishes its own; give every instance the same value); "
        "past `100 - TRACESINK_READ_RESERVE` percent of it ingest answers 429 `limited_by: "
        "budget`, past all of it reads answer 429 too, until midnight UTC",
    ),
    Option(
        "read_reserve",
        values.reserve_percent,
        "percent (0 to 90) of the daily command budget ingest leaves to reads, so that an "
        "exhausted ingest can still be inspected",
    ),
    Option(
        "price_per_100k_commands",
        values.price,
        "USD per 100,000 commands, for the cost estimate in `/stats`",
    ),
    Option("price_per_gb_month", values.price, "USD per GB-month stored, for the cost estimate"),
    Option(
        "otlp_fallback_trace",
        values.trace_template,
        "the trace of OTLP records that carry no trace id; `{service}` is their `service.name`",
    ),
    Option(
        "otlp_service_systems",
        values.service_systems,
        "`service.name=system` pairs, the system of OTLP records sent without `X-Log-System` "
        "(`checkout-web=browser,api=python`)",
    ),
    Option(
        "live_poll_s",
        values.seconds_or_off,
        "on a shared store (Redis, Upstash), seconds between polls that bring other "
        "instances' entries into live streams, only while a stream is open; `0` shows this "
        "instance's entries only (see [Reading a trace](reading.md))",
    ),
    Option(
        "convex_webhook_secret",
        values.token,
        "the secret of a Convex log stream's webhook: `POST /ingest/convex` checks each "
        "delivery's `x-webhook-signature` with it, and answers 403 while it is unset",
        secret=True,
    ),
    Option(
        "key_prefix",
        values.key_prefix,
        "put before every Redis key (`dev:` gives `dev:logs:{<trace_id>}`, braces and all), "
        "so deployments can share one database; no two prefixes (`kp:` and `kp:logs:` alike) "
        "ever name one key (see [Redis keys](keys.md#the-layout))",
    ),
    Option(
        "max_trace_entries",
        values.trace_entries,
        "the most items (entries and drop markers) one trace's list keeps, at least 2; past it "
        "the oldest are trimmed and the trace's read answer says how many went (`trimmed`). "
        "The default is 10x the default trace limit (a trace written at its limit for ten "
        "windows) and bounds what one read returns (see [Redis keys](keys.md#a-trace))",
    ),
    Option(
        "sourcemaps_dir",
        str,
        "a folder of source maps deployed beside the service: "
        "`<dir>/<release>/assets/app.js.map` maps the bundle `~/assets/app.js` of that release "
        "(read only; never served; see [Browser](browser.md#releases-and-source-maps))",
    ),
    Option(
        "sourcemaps_max_bytes",
        values.positive_int,
        "the most bytes of source maps one release keeps in the store (32 MiB); an upload "
        "past it is refused with 413",
    ),
    Option(
        "sourcemaps_releases",
        values.positive_int,
        "how many releases keep their source maps; an upload for a new release past it deletes "
        "the least recently uploaded release's maps",
    ),
    Option(
        "sourcemaps_ttl_s",
        values.positive_int,
        "how long a release's source maps are kept after its last upload (30 days)",
    ),
    Option(
        "pin_s",
        values.positive_int,
        "how long `tracesink pin ID` and `POST /logs/{id}/pin` keep a trace when no `for` is "
        "given, in seconds (7 days); at most `TRACESINK_MAX_PIN_S` (see "
        '[Reading](reading.md), "Pinning a trace")',
    ),
    Option(
        "max_pin_s",
        values.positive_int,
        "the longest pin accepted, in seconds (30 days); a longer `for` is refused (400)",
    ),
    Option(
        "max_pins",
        values.positive_int,
        "how many traces may be pinned at once; a pin beyond is refused (409)",
    ),
    Option(
        "max_pin_bytes",
        values.positive_int,
        "how many bytes the pinned traces may hold together, each measured when pinned "
        "(64 MiB); a pin beyond is refused (409)",
    ),
    Option(
        "mcp_allowed_hosts",
        values.hosts,
        "`Host` values `/mcp` answers besides loopback (`logs.example.com`, `10.0.0.5:8787`, "
        "`logs.example.com:*` for any port): the MCP SDK's DNS-rebinding protection refuses any "
        "other with 421 (see [Agents](agents.md#over-http-mcp))",
    ),
)
