"""CORS: which browser origins may talk to tracesink, and the headers that tell the browser so.

Sending logs (the ingest routes): the origins in ``TRACESINK_CORS_ORIGINS`` and those of the
ingest keys (``*`` in either: any origin). With neither, any origin while serving on loopback to a
local request (a developer's laptop; ``locality.py``), none otherwise.

Reading (every other route): only the origins listed in ``TRACESINK_CORS_ORIGINS`` by name, and a
page served by this instance itself; never ``*``, never ``null`` (sandboxed frames, ``file://``).
Otherwise any page a developer visits could read every log from a loopback instance.

A request from an origin that is not allowed is refused outright with 403: a browser would hide
the answer anyway, and a log sink that stores what it cannot answer invites cost attacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tracesink.app.http import Headers
from tracesink.config import Settings

ALLOWED_METHODS = b"GET, HEAD, POST, OPTIONS"
ALLOWED_HEADERS = (
    # Last-Event-ID: a cross-origin fetch() resuming a live stream sends it (app/live_routes.py);
    # X-Client-Clock: a sender's clock, for clock correction (ingest/clock.py).
    b"Content-Type, X-Log-System, X-Tracesink-Key, X-Trace-Id, traceparent, Authorization, "
    b"Last-Event-ID, X-Client-Clock"
)
EXPOSED_HEADERS = b"RateLimit, RateLimit-Policy, Retry-After"
PREFLIGHT_MAX_AGE = b"600"
MAX_ORIGIN_CHARS = 256
# scheme://host[:port] (RFC 6454 serialisation) or the opaque "null".
_ORIGIN = re.compile(r"null|[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]+")


def valid_origin(origin: str) -> bool:
    return len(origin) <= MAX_ORIGIN_CHARS and _ORIGIN.fullmatch(origin) is not None


class CorsPolicy:
    def __init__(
        self,
        cors_origins: Iterable[str],
        key_origins: Iterable[str],
        loopback: bool,
    ) -> None:
        listed = frozenset(cors_origins)
        ingest = listed | frozenset(key_origins)
        self._ingest = ingest
        self._ingest_any = "*" in ingest
        self._local_any = not ingest and loopback
        self._read = listed - {"*", "null"}

    def allows(self, origin: str, *, ingest: bool, local: bool, own: str | None = None) -> bool:
        """May ``origin`` use an ingest route (``ingest``) or any other route? ``local``: the
        request comes from this machine; ``own``: this instance's origin as the request names it."""
        origin = origin.rstrip("/")
        if ingest:
            return self._ingest_any or origin in self._ingest or (self._local_any and local)
        return origin in self._read or (local and origin == own)

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


def cors_policy(settings: Settings) -> CorsPolicy:
    key_origins = [o for origins in settings.ingest_keys.values() for o in origins]
    return CorsPolicy(settings.cors_origins, key_origins, settings.is_loopback)
