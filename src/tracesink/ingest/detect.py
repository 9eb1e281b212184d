"""Source detection: which system sent an entry, and the rule that said so.

Detection labels a source for reading and for the per-system limit; it never authenticates one,
since any client can set any header. Precedence, from DESIGN.md: explicit ``system`` in the body >
``X-Log-System`` > ``CF-Worker`` (set by Cloudflare on Worker subrequests) > browser signals
(``Sec-Fetch-*``, ``Origin``, a browser ``User-Agent``) > ``manual``.

A label that names no configured system is still a label: the entry is kept under it and counted
as ``manual`` (``ingest/validate.py``), so a new source's logs are never lost to a typo.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracesink.errors import ValidationError
from tracesink.model import MANUAL, SYSTEM_NAME, SYSTEM_NAME_RULE
from tracesink.rules import message


def system_label(raw: str, field: str) -> str:
    """A system name as sent, normalised; ValidationError naming ``field`` when malformed."""
    label = raw.strip().lower()
    if not SYSTEM_NAME.fullmatch(label):
        raise ValidationError(message("system_label", field=field, rule=SYSTEM_NAME_RULE), field)
    return label


def detect_from_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(system, rule) from request headers alone; an entry's own ``system`` field overrides it."""
    explicit = headers.get("x-log-system")
    if explicit is not None:
        return system_label(explicit, "X-Log-System"), "x-log-system"
    if "cf-worker" in headers:
        return "worker", "cf-worker"
    if "sec-fetch-mode" in headers or "sec-fetch-site" in headers:
        return "browser", "sec-fetch"
    if "origin" in headers:
        return "browser", "origin"
    if headers.get("user-agent", "").startswith("Mozilla/"):
        return "browser", "user-agent"
    return MANUAL, "default"
