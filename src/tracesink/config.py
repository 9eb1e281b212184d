"""Settings: one frozen dataclass, built from ``TRACESINK_*`` variables and CLI flags.

Every option is declared once in ``OPTIONS`` (name, parser, help); the environment reader and the
CLI are both generated from that table, so a flag and its variable can never drift apart.
A bad value raises ``ConfigurationError`` naming the variable (or flag) and what it accepts.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tracesink import config_values as values
from tracesink.errors import ConfigurationError
from tracesink.model import MANUAL
from tracesink.rules import DEFAULTS, message

ENV_PREFIX = "TRACESINK_"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8787
    store: str = "memory://"
    # The defaults the edge Worker shares are in rules.json (DEFAULTS), the others here.
    global_limit: int = DEFAULTS.global_limit
    trace_limit: int = DEFAULTS.trace_limit
    system_shares: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULTS.system_shares))
    window_s: int = DEFAULTS.window_s
    ttl_s: int = DEFAULTS.ttl_s
    max_body_bytes: int = DEFAULTS.max_body_bytes
    max_message_bytes: int = DEFAULTS.max_message_bytes
    max_context_bytes: int = DEFAULTS.max_context_bytes
    max_context_depth: int = DEFAULTS.max_context_depth
    max_batch_items: int = DEFAULTS.max_batch_items
    max_batch: int = 512
    max_queue: int = 20_000
    cors_origins: tuple[str, ...] = DEFAULTS.cors_origins
    read_token: str | None = field(default=None, repr=False)
    insecure: bool = False
    ingest_keys: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULTS.ingest_keys), repr=False
    )
    trusted_proxies: tuple[str, ...] = ()
    read_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    send_timeout_s: float = 60.0
    max_header_bytes: int = 32 * 1024
    max_concurrency: int = 1000
    spool_dir: str = ""  # "" = the default place for this port; "off" = no spool
    spool_max_bytes: int = 256 * 1024 * 1024
    outage_share: int = 100
    max_commands_per_day: int = DEFAULTS.max_commands_per_day  # 0: no budget
    read_reserve: int = DEFAULTS.read_reserve  # percent of the daily budget ingest leaves to reads
    price_per_100k_commands: float = 0.20
    price_per_gb_month: float = 0.25
    otlp_fallback_trace: str = "otlp-{service}"
    otlp_service_systems: Mapping[str, str] = field(default_factory=dict)
    live_poll_s: float = 1.0  # 0: live streams show this instance's entries only
    convex_webhook_secret: str | None = field(default=None, repr=False)  # POST /ingest/convex
    key_prefix: str = DEFAULTS.key_prefix  # "" = the plan's keys exactly (logs:{trace_id})
    max_trace_entries: int = DEFAULTS.max_trace_entries  # 10x the default trace limit (keys.md)
    # Source maps (docs/browser.md): bounded per release, few releases, their own expiry.
    sourcemaps_dir: str = ""  # "" = none; else <dir>/<release>/<path>.map beside the service
    sourcemaps_max_bytes: int = 32 * 1024 * 1024  # one release's maps together
    sourcemaps_releases: int = 5  # releases kept; the least recently uploaded go first
    sourcemaps_ttl_s: int = 30 * 24 * 3600  # a release's maps expire after its last upload
    mcp_allowed_hosts: tuple[str, ...] = ()  # Host values /mcp answers beyond loopback
    # How the user named each setting they gave (a flag or a variable), for messages; not a setting.
    given_as: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def name_of(self, option: str) -> str:
        """The flag or variable the user set ``option`` with (its variable when left default)."""
        return self.given_as.get(option) or ENV_PREFIX + option.upper()

    @property
    def systems(self) -> tuple[str, ...]:
        """The systems entries are counted as: every key of the shares, then ``manual``."""
        return (*self.system_shares, MANUAL)

    def __repr__(self) -> str:
        # The dataclass repr would show the store URL as given, password and all.
        shown = (
            f"{f.name}={mask_url(self.store)!r}"
            if f.name == "store"
            else f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.repr
        )
        return f"Settings({', '.join(shown)})"

    def spool_path(self) -> Path | None:
        """Where this instance spools during a store outage; None when it does not."""
        if self.spool_dir == "off" or self.store.startswith("memory:"):
            return None
        if self.spool_dir:
            return Path(self.spool_dir)
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        # One spool per port and store: restarted on another store, an instance must not find
        # (and replay) batches that were written for the first one.
        store = hashlib.sha256(mask_url(self.store).encode()).hexdigest()[:12]
        return Path(state) / "tracesink" / f"spool-{self.port}-{store}"

    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(network) for network in self.trusted_proxies]

    def system_limit(self, system: str) -> int | None:
        """The system's share of the global limit, or None when it has no level of its own."""
        share = self.system_shares.get(system)
        if share is None:
            return None
        return self.global_limit * share // 100

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def describe_cors(self) -> str:
        """Which browser origins may send and read, in words (app/cors.py enforces it)."""
        listed = set(self.cors_origins)
        ingest = listed | {o for origins in self.ingest_keys.values() for o in origins}
        if "*" in ingest:
            send = "any origin"
        elif ingest:
            send = ", ".join(sorted(ingest))
        elif self.is_loopback:
            send = "any origin, from this machine only (loopback)"
        else:
            send = "no browser origin"
        read = ", ".join(sorted(listed - {"*", "null"})) or "no other origin"
        return f"send from {send}; read from {read}"

    def describe_limits(self) -> str:
        systems = ", ".join(f"{name} {self.system_limit(name)}" for name in self.system_shares)
        return (
            f"global {self.global_limit}, {systems or 'no system shares'}, "
            f"trace {self.trace_limit} per {self.window_s}s window; entries kept {self.ttl_s}s"
        )


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SECRET_PARAMS = frozenset({"password", "pass", "token", "secret", "key", "auth"})


def mask_url(url: str) -> str:
    """The URL with any password or token replaced by ``****``: safe for logs and reprs.

    Written without ``urlsplit``, which cuts a password holding an unencoded ``/``, ``?`` or
    ``#`` in two (showing the rest as a host or path) and raises on a bad IPv6 host: everything
    before the last ``@`` is credentials (only a plain user name before a ``:`` is shown), the
    query is shown up to a ``?password=`` (or token, secret, key), whose value and all after it
    are masked, and when a password sits in a query before an ``@``, nothing after the scheme
    is shown at all.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    prefix = f"{scheme}://" if sep else ""
    userinfo, at, rest = rest.rpartition("@")
    if at:
        if "=" in userinfo:  # an "@" inside a ?password=… value: its end is not known
            return f"{prefix}****"
        user, colon, _ = userinfo.partition(":")
        plain_user = colon and not any(c in user for c in "/?#[]")
        rest = f"{user}:****@{rest}" if plain_user else f"****@{rest}"
    path, question, query = rest.partition("?")
    if question:
        params = []
        for param in query.split("&"):
            name, equals, _ = param.partition("=")
            if equals and name.strip().lower() in SECRET_PARAMS:
                params.append(f"{name}=****")
                break  # what follows may be the rest of a password that holds a "&"
            params.append(param)
        path = f"{path}?{'&'.join(params)}"
    return prefix + path


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
        "store",
        values.store_url,
        "`memory://`, `redis://[:password@]host:port/db`, `rediss://…` (TLS), "
        "`redis+unix:///path.sock`, `upstash+https://:TOKEN@HOST` (Upstash's REST API; "
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
        "mcp_allowed_hosts",
        values.hosts,
        "`Host` values `/mcp` answers besides loopback (`logs.example.com`, `10.0.0.5:8787`, "
        "`logs.example.com:*` for any port): the MCP SDK's DNS-rebinding protection refuses any "
        "other with 421 (see [Agents](agents.md#over-http-mcp))",
    ),
)


# What deploy/systemd/tracesink.env holds where a real value must go: a copy left unedited
# would otherwise start (a 32-character "token" anyone can read in the template).
PLACEHOLDER = "CHANGE-ME"


def _refuse_placeholders(environ: Mapping[str, str], overrides: Mapping[str, str | None]) -> None:
    named = [
        option.flag if overrides.get(option.name) is not None else option.env
        for option in OPTIONS
        if PLACEHOLDER.lower()
        in str(overrides.get(option.name) or environ.get(option.env) or "").lower()
    ]
    if named:
        raise ConfigurationError(
            f"{', '.join(named)} still {'holds' if len(named) == 1 else 'hold'} the deploy "
            f"template's placeholder {PLACEHOLDER}: set a real value"
        )


def load_settings(
    environ: Mapping[str, str], overrides: Mapping[str, str | None] | None = None
) -> Settings:
    """Settings from the environment, then CLI ``overrides`` (option name → raw string)."""
    values: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    known = {option.name for option in OPTIONS}
    _refuse_placeholders(environ, overrides or {})
    for option in OPTIONS:
        raw = environ.get(option.env)
        source = option.env
        override = (overrides or {}).get(option.name)
        if override is not None:
            raw, source = override, option.flag
        if raw is None:
            continue
        given_as[option.name] = source
        try:
            values[option.name] = option.parse(raw)
        except ValueError as exc:
            shown = "****" if option.secret else option.shown_as(raw)
            refusal = message("setting_invalid", variable=source, shown=shown, expected=exc)
            raise ConfigurationError(refusal) from None
    unknown = [
        k
        for k in environ
        if k.startswith(ENV_PREFIX)
        and k[len(ENV_PREFIX) :].lower() not in known
        and k not in IGNORED_ENV
    ]
    if unknown:
        raise ConfigurationError("; ".join(_unknown_variable(name) for name in sorted(unknown)))
    return _checked(replace(Settings(), **values, given_as=given_as))


def _unknown_variable(name: str) -> str:
    """A typo's most likely meaning, or the list of every setting when nothing is close."""
    close = difflib.get_close_matches(name, [o.env for o in OPTIONS], n=1, cutoff=0.6)
    if close:
        return f"unknown setting {name}: did you mean {close[0]}?"
    return f"unknown setting {name}; known: {', '.join(o.env for o in OPTIONS)}"


def _checked(settings: Settings) -> Settings:
    # The window math is exact integer arithmetic in Python and in Lua, whose numbers are
    # doubles: keep limit x window (in ms) below 2**53.
    name = settings.name_of
    for key in settings.ingest_keys:
        pinned = key.partition("@")[2]
        if pinned and pinned not in settings.systems:
            raise ConfigurationError(
                f"{name('ingest_keys')}: a key pins system {pinned!r}, which is not configured; "
                f"systems are {', '.join(settings.systems)} (TRACESINK_SYSTEM_SHARES adds one)"
            )
    if settings.global_limit * settings.window_s * 1000 >= 2**53:
        raise ConfigurationError(
            f"{name('global_limit')} x {name('window_s')} is too large "
            f"({settings.global_limit} x {settings.window_s}); keep it below 9e12"
        )
    if not settings.is_loopback and settings.read_token is None and not settings.insecure:
        raise ConfigurationError(
            f"{name('host')}={settings.host} serves beyond loopback, where anyone who can reach "
            "it could read every log: set TRACESINK_READ_TOKEN (or --read-token), or pass "
            "--insecure to accept that"
        )
    return settings


# Variables with the prefix that are not settings of the service itself.
IGNORED_ENV = frozenset({"TRACESINK_URL", "TRACESINK_INGEST_KEY"})

assert {f.name for f in fields(Settings)} - {"given_as"} == {o.name for o in OPTIONS}, (
    "OPTIONS must cover Settings"
)
