"""CORS: which browser origins may talk to tracesink, and the headers that tell the browser so.

With ``TRACESINK_CORS_ORIGINS`` set, exactly those origins (``*`` for any). Without it, any origin
while serving on loopback (a developer's laptop), none otherwise. A request from an origin that is
not allowed is refused outright with 403: a browser would hide the answer anyway, and a log sink
that stores what it cannot answer invites cost attacks.
"""

from __future__ import annotations

from tracesink.app.http import Headers

ALLOWED_METHODS = b"GET, POST, OPTIONS"
ALLOWED_HEADERS = b"Content-Type, X-Log-System, Authorization"
EXPOSED_HEADERS = b"RateLimit, RateLimit-Policy, Retry-After"
PREFLIGHT_MAX_AGE = b"600"


class CorsPolicy:
    def __init__(self, origins: tuple[str, ...], loopback: bool) -> None:
        self._any = "*" in origins or (not origins and loopback)
        self._origins = frozenset(origins)

    def allows(self, origin: str) -> bool:
        return self._any or origin.rstrip("/") in self._origins

    def headers(self, origin: str) -> Headers:
        """Headers for an actual (non-preflight) response to an allowed origin."""
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED_HEADERS),
            (b"vary", b"Origin"),
        ]

    def preflight_headers(self, origin: str) -> Headers:
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ALLOWED_METHODS),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
            (b"vary", b"Origin"),
        ]
