"""Parsers for setting values: each turns the raw string into a value, or raises ValueError
saying what it accepts (``config.load_settings`` adds the variable's name)."""

from __future__ import annotations

import ipaddress
import os
import re

from tracesink.model import MANUAL, SYSTEM_NAME, SYSTEM_NAME_RULE
from tracesink.rules import (  # shared with the edge Worker
    KEY_PREFIX,
    MAX_READ_RESERVE,
    MIN_TRACE_ENTRIES,
    message,
)


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(message("setting_whole")) from None
    if value < 1:
        raise ValueError(message("setting_positive"))
    return value


def workers(raw: str) -> int:
    """A number of worker processes, or ``auto``: the cores this process may run on."""
    if raw.strip().lower() == "auto":
        return usable_cores()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("a whole number of processes of at least 1, or auto") from None
    if value < 1:
        raise ValueError("a whole number of processes of at least 1, or auto")
    return value


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity (a container's or taskset's limit)
    where the platform has one, else every core of the machine."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def port(raw: str) -> int:
    value = positive_int(raw)
    if value > 65535:
        raise ValueError("a port number from 1 to 65535")
    return value


def host(raw: str) -> str:
    if not raw.strip():
        raise ValueError("a host name or IP address")
    return raw.strip()


def store_url(raw: str) -> str:
    if raw.strip().lower() == "upstash":  # URL and token from UPSTASH_REDIS_REST_URL/_TOKEN
        return "upstash"
    if "://" not in raw:
        raise ValueError(
            "a store URL such as memory://, redis://localhost:6379/0, "
            "upstash+https://:TOKEN@HOST, or upstash (with UPSTASH_REDIS_REST_URL and _TOKEN)"
        )
    return raw


def shares(raw: str) -> dict[str, int]:
    """The configured systems and their shares: ``browser=40,worker=30,convex=30,python=0``.

    Any name is a system (``python=20`` adds one); ``manual`` is always there and has no share:
    it counts against the global limit only.
    """
    accepted = message("setting_shares")
    parsed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, pct = part.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(accepted)
        if not SYSTEM_NAME.fullmatch(name):
            raise ValueError(
                message("setting_shares_name", accepted=accepted, rule=SYSTEM_NAME_RULE, name=name)
            )
        if name == MANUAL:
            raise ValueError(message("setting_shares_manual", accepted=accepted))
        try:
            value = int(pct)
        except ValueError:
            raise ValueError(accepted) from None
        if not 0 <= value <= 100:
            raise ValueError(message("setting_shares_range", accepted=accepted))
        parsed[name] = value
    if sum(parsed.values()) > 100:
        raise ValueError(message("setting_shares_sum", accepted=accepted))
    return parsed


def positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a number of seconds") from None
    if not 0 < value < 86400:
        raise ValueError("a number of seconds above 0 and below 86400")
    return value


def count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(message("setting_count")) from None
    if value < 0:
        raise ValueError(message("setting_count_negative"))
    return value


def price(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a price in USD, like 0.20") from None
    if not 0 <= value < 1e6:
        raise ValueError("a price in USD, 0 or more")
    return value


def percent(raw: str) -> int:
    value = positive_int(raw)
    if value > 100:
        raise ValueError("a percentage from 1 to 100")
    return value


def reserve_percent(raw: str) -> int:
    value = count(raw)
    if value > MAX_READ_RESERVE:
        raise ValueError(message("setting_reserve", max=MAX_READ_RESERVE))
    return value


def flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "0", "false", "no", ""):
        raise ValueError("true or false (1/0, yes/no)")
    return value in ("1", "true", "yes")


def token(raw: str) -> str:
    if len(raw) < 16 or raw != raw.strip():
        raise ValueError("a secret of at least 16 characters without surrounding spaces")
    return raw


def ingest_keys(raw: str) -> dict[str, tuple[str, ...]]:
    """Key (optionally ``@system``, the only system its clients may log as) → its origins."""
    accepted = message("setting_ingest_keys", rule=SYSTEM_NAME_RULE)
    keys: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        spec, sep, allowed = part.partition("=")
        key, at, system = spec.strip().partition("@")
        if not sep or len(key) < 8 or not allowed.strip():
            raise ValueError(message("setting_ingest_key_length", accepted=accepted))
        if at and not SYSTEM_NAME.fullmatch(system):
            raise ValueError(accepted)
        keys[spec.strip()] = origins(allowed.replace("|", ","))
    return keys


def origins(raw: str) -> tuple[str, ...]:
    listed = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in listed:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(message("setting_origins"))
    return listed


def service_systems(raw: str) -> dict[str, str]:
    """OTLP ``service.name`` → system: ``checkout-web=browser,api=python``."""
    accepted = "a list like checkout-web=browser,api=python (service.name=system)"
    mapped: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        service, sep, system = part.partition("=")
        system = system.strip()
        if not sep or not service.strip():
            raise ValueError(accepted)
        if not SYSTEM_NAME.fullmatch(system):
            raise ValueError(f"{accepted}; a system name is {SYSTEM_NAME_RULE}, got {system!r}")
        mapped[service.strip()] = system
    return mapped


def trace_template(raw: str) -> str:
    """A fallback trace id; ``{service}`` is replaced by the OTLP service name."""
    if not raw.strip() or len(raw) > 100:
        raise ValueError("a trace id of 1 to 100 characters, {service} standing for the service")
    return raw.strip()


def networks(raw: str) -> tuple[str, ...]:
    listed = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return tuple(str(ipaddress.ip_network(part, strict=False)) for part in listed)
    except ValueError:
        raise ValueError(
            "a comma-separated list of IP addresses or CIDRs like 127.0.0.1,10.0.0.0/8"
        ) from None


def seconds_or_off(raw: str) -> float:
    """A number of seconds, or 0 for off."""
    if raw.strip() in {"0", "off"}:
        return 0.0
    return positive_number(raw)


def trace_entries(raw: str) -> int:
    value = positive_int(raw)
    if value < MIN_TRACE_ENTRIES:  # the newest entry and the trimmed marker
        raise ValueError(message("setting_trace_entries", min=MIN_TRACE_ENTRIES))
    return value


def key_prefix(raw: str) -> str:
    # No brace: store/keys.py's layout is unambiguous for every such prefix (docs/keys.md).
    if not KEY_PREFIX.fullmatch(raw):
        raise ValueError(message("setting_key_prefix"))
    return raw


HOST = re.compile(r"[A-Za-z0-9.-]+(:([0-9]{1,5}|\*))?|\[[0-9A-Fa-f:.]+\](:([0-9]{1,5}|\*))?")


def hosts(raw: str) -> tuple[str, ...]:
    """Host header values (``/mcp``'s DNS-rebinding check): ``logs.example.com,10.0.0.5:8787``."""
    listed = tuple(part.strip() for part in raw.split(",") if part.strip())
    for host in listed:
        if not HOST.fullmatch(host):
            raise ValueError(
                "a comma-separated list of hosts like logs.example.com or logs.example.com:* "
                "(any port)"
            )
    return listed
