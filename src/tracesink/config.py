"""Settings: one frozen dataclass, built from ``TRACESINK_*`` variables and CLI flags.

Every option is declared once in ``config_options.OPTIONS`` (name, parser, help); the environment
reader and the CLI are both generated from that table, so a flag and its variable can never drift
apart. A bad value raises ``ConfigurationError`` naming the variable (or flag) and what it accepts.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from tracesink.config_options import ENV_PREFIX, OPTIONS
from tracesink.errors import ConfigurationError
from tracesink.masking import mask_url
from tracesink.model import MANUAL
from tracesink.rules import DEFAULTS, message


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1  # processes sharing the port (server/workers.py)
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
    redis_wait_replicas: int = 0  # 0: a write is acknowledged without waiting for replicas
    redis_wait_timeout_ms: int = 1000
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
    # Pins (docs/reading.md, "Pinning a trace"): a week by default, a month at most, 100 of them
    # and 64 MiB of traces in all, so that pins cannot hold a database's memory for ever.
    pin_s: int = 7 * 86_400
    max_pin_s: int = 30 * 86_400
    max_pins: int = 100
    max_pin_bytes: int = 64 * 1024 * 1024
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

    def spool_path(self, worker: int = 0) -> Path | None:
        """Where this instance (its worker process ``worker``, counted from 0) spools during a
        store outage; None when it does not.

        Each worker has a spool of its own (two processes appending to one file would corrupt
        it): worker 0 the folder itself, as a single process always had, worker N its
        ``worker-N`` folder inside (server/spool_slots.py hands on those no worker runs)."""
        if self.spool_dir == "off" or self.store.startswith("memory:"):
            return None
        if self.spool_dir:
            base = Path(self.spool_dir)
        else:
            state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            # One spool per port and store: restarted on another store, an instance must not
            # find (and replay) batches that were written for the first one.
            store = hashlib.sha256(mask_url(self.store).encode()).hexdigest()[:12]
            base = Path(state) / "tracesink" / f"spool-{self.port}-{store}"
        return base / f"{WORKER_SPOOL_PREFIX}{worker}" if worker else base

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


WORKER_SPOOL_PREFIX = "worker-"  # worker N > 0 spools in <spool folder>/worker-N


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
    if settings.pin_s > settings.max_pin_s:
        raise ConfigurationError(
            f"{name('pin_s')} ({settings.pin_s}) is longer than {name('max_pin_s')} "
            f"({settings.max_pin_s}): a pin's default may not pass its maximum"
        )
    if settings.workers > 1 and settings.store.startswith("memory:"):
        raise ConfigurationError(
            f"{name('workers')}={settings.workers} with {name('store')}=memory://: each worker "
            "process would keep a memory store of its own, so the limits, the reads and the "
            "live streams would split between them; give the workers a shared store "
            "(TRACESINK_STORE=redis://localhost:6379/0; `tracesink dev` runs one for you), or "
            "serve memory:// with one worker"
        )
    if settings.workers > 1 and settings.live_poll_s == 0:
        raise ConfigurationError(
            f"{name('workers')}={settings.workers} with {name('live_poll_s')}=0: a live stream "
            "would show the entries of the one worker that serves it; leave the poll on "
            "(it costs commands only while a stream is open)"
        )
    if settings.redis_wait_replicas:
        _check_replica_wait(settings)
    if not settings.is_loopback and settings.read_token is None and not settings.insecure:
        raise ConfigurationError(
            f"{name('host')}={settings.host} serves beyond loopback, where anyone who can reach "
            "it could read every log: set TRACESINK_READ_TOKEN (or --read-token), or pass "
            "--insecure to accept that"
        )
    return settings


def _check_replica_wait(settings: Settings) -> None:
    """The replica wait needs a store with replicas: refused at load, so that ``check`` and
    ``serve`` say so before anything starts (open_store says it again to any other caller)."""
    from tracesink.store import REPLICA_WAIT_BACKENDS, backend_of  # imports no backend

    name = settings.name_of
    if backend_of(settings.store, name("store"))[1] not in REPLICA_WAIT_BACKENDS:
        raise ConfigurationError(
            f"{name('redis_wait_replicas')}={settings.redis_wait_replicas} needs a redis://, "
            f"rediss:// or redis+sentinel:// store; {name('store')}={mask_url(settings.store)!r} "
            "has no replicas to wait for (set it to 0)"
        )


# Variables with the prefix that are not settings of the service itself.
IGNORED_ENV = frozenset(
    {
        "TRACESINK_URL",
        "TRACESINK_INGEST_KEY",
        # Set by `serve --workers N` for each worker process it starts (worker_identity.py).
        "TRACESINK_WORKER_INDEX",
        "TRACESINK_WORKER_SHARED_DIR",
    }
)

assert {f.name for f in fields(Settings)} - {"given_as"} == {o.name for o in OPTIONS}, (
    "OPTIONS must cover Settings"
)
