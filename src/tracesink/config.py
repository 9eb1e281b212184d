"""Settings: one frozen dataclass, built from ``TRACESINK_*`` variables and CLI flags.

Every option is declared once in ``OPTIONS`` (name, parser, help); the environment reader and the
CLI are both generated from that table, so a flag and its variable can never drift apart.
A bad value raises ``ConfigurationError`` naming the variable (or flag) and what it accepts.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracesink import config_values as values
from tracesink.config_values import SHARED_SYSTEMS
from tracesink.errors import ConfigurationError

SYSTEMS = ("browser", "worker", "convex", "manual")
ENV_PREFIX = "TRACESINK_"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8787
    store: str = "memory://"
    global_limit: int = 1000
    trace_limit: int = 100
    system_shares: Mapping[str, int] = field(
        default_factory=lambda: {"browser": 40, "worker": 30, "convex": 30}
    )
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
    read_timeout_s: float = 10.0
    max_concurrency: int = 1000
    spool_dir: str = ""  # "" = the default place for this port; "off" = no spool
    spool_max_bytes: int = 256 * 1024 * 1024
    outage_share: int = 100
    max_commands_per_day: int = 0  # 0: no budget
    price_per_100k_commands: float = 0.20
    price_per_gb_month: float = 0.25
    key_prefix: str = ""  # "" = the plan's keys exactly (logs:{trace_id})

    def spool_path(self) -> Path | None:
        """Where this instance spools during a store outage; None when it does not."""
        if self.spool_dir == "off" or self.store.startswith("memory:"):
            return None
        if self.spool_dir:
            return Path(self.spool_dir)
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        return Path(state) / "tracesink" / f"spool-{self.port}"

    def system_limit(self, system: str) -> int | None:
        """The system's share of the global limit, or None when it has no level of its own."""
        share = self.system_shares.get(system)
        if share is None:
            return None
        return self.global_limit * share // 100

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def describe_limits(self) -> str:
        systems = ", ".join(
            f"{name} {self.system_limit(name)}"
            for name in SHARED_SYSTEMS
            if name in self.system_shares
        )
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


def mask_url(url: str) -> str:
    """The URL with any password or token replaced by ``****``: safe for logs and reprs.

    Covers ``user:password@``, a bare ``token@`` and a ``?password=`` query (which redis-py
    accepts for unix sockets); works on malformed URLs too, since those end up in error messages.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:****@{host}" if colon else f"****@{host}"
    query = "&".join(
        "password=****" if param.lower().startswith("password=") else param
        for param in parts.query.split("&")
    )
    # Built by hand: urlunsplit drops the "//" of an empty host (redis+unix:///path).
    masked = f"{parts.scheme}://{netloc}{parts.path}"
    masked += f"?{query}" if query else ""
    return masked + (f"#{parts.fragment}" if parts.fragment else "")


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False  # never echo the value back, not even in an error
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
        "store URL: memory:// (default), redis://, rediss://, redis+unix://, upstash+https://, "
        "or upstash (reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN)",
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
    Option("read_timeout_s", values.positive_number, "seconds a client may take to send its body"),
    Option("max_concurrency", values.positive_int, "most requests served at once; 503 beyond"),
    Option("spool_dir", str, "where batches wait while the store is unreachable (off: nowhere)"),
    Option("spool_max_bytes", values.positive_int, "largest spool; 503 beyond"),
    Option(
        "outage_share", values.percent, "percent of each limit one instance admits in an outage"
    ),
    Option(
        "max_commands_per_day", values.count, "store commands per UTC day before ingest is refused"
    ),
    Option("price_per_100k_commands", values.price, "USD per 100,000 commands, for /stats"),
    Option("price_per_gb_month", values.price, "USD per GB-month stored, for /stats"),
    Option(
        "key_prefix",
        values.key_prefix,
        "put before every Redis key, so deployments can share one database (e.g. 'dev:')",
    ),
)


def load_settings(
    environ: Mapping[str, str], overrides: Mapping[str, str | None] | None = None
) -> Settings:
    """Settings from the environment, then CLI ``overrides`` (option name → raw string)."""
    values: dict[str, Any] = {}
    known = {option.name for option in OPTIONS}
    for option in OPTIONS:
        raw = environ.get(option.env)
        source = option.env
        override = (overrides or {}).get(option.name)
        if override is not None:
            raw, source = override, option.flag
        if raw is None:
            continue
        try:
            values[option.name] = option.parse(raw)
        except ValueError as exc:
            shown = "****" if option.secret else repr(raw)
            raise ConfigurationError(f"{source}={shown} is not valid: expected {exc}") from None
    unknown = [
        k
        for k in environ
        if k.startswith(ENV_PREFIX)
        and k[len(ENV_PREFIX) :].lower() not in known
        and k not in IGNORED_ENV
    ]
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigurationError(
            f"unknown setting {names}; known: {', '.join(o.env for o in OPTIONS)}"
        )
    return _checked(replace(Settings(), **values))


def _checked(settings: Settings) -> Settings:
    # The window math is exact integer arithmetic in Python and in Lua, whose numbers are
    # doubles: keep limit x window (in ms) below 2**53.
    if settings.global_limit * settings.window_s * 1000 >= 2**53:
        raise ConfigurationError(
            "TRACESINK_GLOBAL_LIMIT x TRACESINK_WINDOW_S is too large "
            f"({settings.global_limit} x {settings.window_s}); keep it below 9e12"
        )
    if not settings.is_loopback and settings.read_token is None and not settings.insecure:
        raise ConfigurationError(
            f"TRACESINK_HOST={settings.host} serves beyond loopback, where anyone who can reach it "
            "could read every log: set TRACESINK_READ_TOKEN, or pass --insecure to accept that"
        )
    return settings


# Variables with the prefix that are not settings of the service itself.
IGNORED_ENV = frozenset({"TRACESINK_URL"})

assert {f.name for f in fields(Settings)} == {o.name for o in OPTIONS}, (
    "OPTIONS must cover Settings"
)
