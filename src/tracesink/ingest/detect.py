"""Source detection: which system sent an entry, and the rule that said so.

Detection labels a source for reading and for the per-system limit; it never authenticates one,
since any client can set any header. Precedence, from DESIGN.md: explicit ``system`` in the body >
``X-Log-System`` > ``CF-Worker`` (set by Cloudflare on Worker subrequests) > browser signals
(``Sec-Fetch-*``, ``Origin``, a browser ``User-Agent``) > ``manual``.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracesink.config import SYSTEMS
from tracesink.errors import ValidationError


def detect_from_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(system, rule) from request headers alone; an entry's own ``system`` field overrides it."""
    explicit = headers.get("x-log-system")
    if explicit is not None:
        system = explicit.strip().lower()
        if system not in SYSTEMS:
            raise ValidationError(
                f"X-Log-System must be one of {', '.join(SYSTEMS)}, got {explicit!r}",
                field="X-Log-System",
            )
        return system, "x-log-system"
    if "cf-worker" in headers:
        return "worker", "cf-worker"
    if "sec-fetch-mode" in headers or "sec-fetch-site" in headers:
        return "browser", "sec-fetch"
    if "origin" in headers:
        return "browser", "origin"
    if headers.get("user-agent", "").startswith("Mozilla/"):
        return "browser", "user-agent"
    return "manual", "default"
