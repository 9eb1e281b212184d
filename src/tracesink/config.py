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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tracesink import config_values as values
from tracesink.errors import ConfigurationError
from tracesink.model import DEFAULT_SYSTEM_SHARES, MANUAL

ENV_PREFIX = "TRACESINK_"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8787
    store: str = "memory://"
    global_limit: int = 1000
    trace_limit: int = 100
    system_shares: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SYSTEM_SHARES))
    window_s: int = 3600
    ttl_s: int = 3600
    max_body_bytes: int = 1024 * 1024
    max_message_bytes: int = 16 * 1024
    max_context_bytes: int = 16 * 1024
    max_context_depth: int = 8
    max_batch_items: int = 1000
    max_batch: int = 512
    max_queue: int = 20_000
    cors_origins: tuple[str, ...] = ()
    read_token: str | None = field(default=None, repr=False)
    insecure: bool = False
    ingest_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    trusted_proxies: tuple[str, ...] = ()
    read_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024
    max_concurrency: int = 1000
    spool_dir: str = ""  # "" = the default place for this port; "off" = no spool
    spool_max_bytes: int = 256 * 1024 * 1024
    outage_share: int = 100
    max_commands_per_day: int = 0  # 0: no budget
    read_reserve: int = 10  # percent of the daily budget ingest leaves to reads
    price_per_100k_commands: float = 0.20
    price_per_gb_month: float = 0.25
    otlp_fallback_trace: str = "otlp-{service}"
    otlp_service_systems: Mapping[str, str] = field(default_factory=dict)
    live_poll_s: float = 1.0  # 0: live streams show this instance's entries only
    convex_webhook_secret: str | None = field(default=None, repr=False)  # POST /ingest/convex
    key_prefix: str = ""  # "" = the plan's keys exactly (logs:{trace_id})
    max_trace_entries: int = 1000  # 10x the default trace limit (docs/keys.md)
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


OPTIONS: tuple[Option, ...] = (
    Option("host", values.host, "address to listen on"),
    Option("port", values.port, "port to listen on"),
    Option(
        "store",
        values.store_url,
        shown_as=lambda raw: repr(mask_url(raw)),
        help="store URL: memory:// (default), redis://, rediss://, redis+unix://, "
        "upstash+https://, or upstash (reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN)",
    ),
    Option(
        "global_limit", values.positive_int, "entries admitted per window, all systems together"
    ),
    Option("trace_limit", values.positive_int, "entries admitted per window for one trace_id"),
    Option("system_shares", values.shares, "per-system shares of the global limit, in percent"),
    Option("window_s", values.positive_int, "length of the rate-limit window in seconds"),
    Option(
        "ttl_s", values.positive_int, "how long a trace is kept after its last write, in seconds"
    ),
    Option("max_body_bytes", values.positive_int, "largest request body accepted"),
    Option("max_message_bytes", values.positive_int, "longer messages are truncated with a marker"),
    Option("max_context_bytes", values.positive_int, "largest context object, as JSON"),
    Option("max_context_depth", values.positive_int, "deepest nesting allowed in context"),
    Option("max_batch_items", values.positive_int, "most entries in one POST /logs request"),
    Option(
        "max_batch", values.positive_int, "most entries the writer sends to the store in one step"
    ),
    Option("max_queue", values.positive_int, "most entries waiting for the store before 503"),
    Option("cors_origins", values.origins, "origins allowed to send logs from a browser"),
    Option("read_token", values.token, "bearer token required to read logs", secret=True),
    Option(
        "insecure",
        values.flag,
        "serve beyond loopback without a read token (dangerous)",
        switch=True,
    ),
    Option(
        "ingest_keys",
        values.ingest_keys,
        "public ingest keys and their allowed origins",
        secret=True,
    ),
    Option(
        "trusted_proxies",
        values.networks,
        "addresses of proxies in front (IPs or CIDRs) whose X-Forwarded-For is believed",
    ),
    Option("read_timeout_s", values.positive_number, "seconds a client may take to send its body"),
    Option(
        "header_timeout_s",
        values.positive_number,
        "seconds a client may take to send a request line and headers (408 beyond)",
    ),
    Option(
        "max_header_bytes",
        values.positive_int,
        "largest request line and headers together (431 beyond)",
    ),
    Option(
        "max_concurrency",
        values.positive_int,
        "most requests served at once, idle connections not counted; 503 beyond",
    ),
    Option("spool_dir", str, "where batches wait while the store is unreachable (off: nowhere)"),
    Option("spool_max_bytes", values.positive_int, "largest spool; 503 beyond"),
    Option(
        "outage_share", values.percent, "percent of each limit one instance admits in an outage"
    ),
    Option(
        "max_commands_per_day",
        values.count,
        "store commands per UTC day (0: no limit); ingest stops short by the read reserve",
    ),
    Option(
        "read_reserve",
        values.reserve_percent,
        "percent of the daily command budget ingest leaves to reads, probes and live polls",
    ),
    Option("price_per_100k_commands", values.price, "USD per 100,000 commands, for /stats"),
    Option("price_per_gb_month", values.price, "USD per GB-month stored, for /stats"),
    Option(
        "otlp_fallback_trace",
        values.trace_template,
        "trace of OTLP records without a trace id; {service} is the service name",
    ),
    Option(
        "otlp_service_systems",
        values.service_systems,
        "OTLP service.name=system pairs, for records sent without X-Log-System",
    ),
    Option(
        "live_poll_s",
        values.seconds_or_off,
        "seconds between polls of a shared store for live streams, while any is open (0: off)",
    ),
    Option(
        "convex_webhook_secret",
        values.token,
        "the Convex log stream's webhook secret; POST /ingest/convex is refused without it",
        secret=True,
    ),
    Option(
        "key_prefix",
        values.key_prefix,
        "put before every Redis key, so deployments can share one database (e.g. 'dev:')",
    ),
    Option(
        "max_trace_entries",
        values.trace_entries,
        "most items a trace keeps (entries and markers); the oldest are trimmed beyond",
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
            raise ConfigurationError(f"{source}={shown} is not valid: expected {exc}") from None
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
