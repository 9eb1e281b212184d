"""Who may read logs (a bearer token) and who may send them (optional public ingest keys).

Tokens are compared with ``hmac.compare_digest`` so that timing does not reveal how much of a
guess was right. Ingest keys are public by design, like a Sentry DSN: they name a project and the
origins its browser code runs on, so a key copied to another site is refused there.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from tracesink.app.http import Request
from tracesink.app.locality import Locality
from tracesink.errors import AccessDenied
from tracesink.rules import message

INGEST_KEY_HEADER = "x-tracesink-key"


class ReadGuard:
    """With a token: the token, from anywhere. Without one: reads are open to requests from this
    machine only (``locality.py``), or to anyone when ``--insecure`` says so."""

    def __init__(self, token: str | None, insecure: bool, locality: Locality) -> None:
        self._expected = f"Bearer {token}".encode() if token is not None else None
        self._insecure = insecure
        self._locality = locality

    def check(self, request: Request) -> None:
        if self._expected is None:
            if self._insecure or self._locality.is_local(request):
                return
            raise AccessDenied(
                "reads without TRACESINK_READ_TOKEN are open to this machine only, and this "
                "request came through a proxy or tunnel, or names another host: set a read token "
                "(see TRACESINK_TRUSTED_PROXIES in docs/security.md)",
                "Authorization",
                403,
            )
        given = request.headers.get("authorization", "").encode("latin-1")
        if not hmac.compare_digest(given, self._expected):
            raise AccessDenied(
                "reading logs needs Authorization: Bearer <TRACESINK_READ_TOKEN>", "Authorization"
            )


PINNED_SYSTEM = "tracesink.pinned_system"  # scope key: the system an ingest key logs as


class IngestGuard:
    """A key written ``pk_web@browser`` pins its clients to one system, so that a keyed client
    cannot spend another system's share by naming it; the key alone is ``pk_web``."""

    def __init__(self, keys: Mapping[str, tuple[str, ...]]) -> None:
        self._keys = [
            (key.encode(), frozenset(origins), system or None)
            for spec, origins in keys.items()
            for key, _, system in [spec.partition("@")]
        ]

    def check(self, request: Request) -> None:
        if not self._keys:
            return
        # sendBeacon cannot set headers, so the key may also come as ?key=.
        given = (request.headers.get(INGEST_KEY_HEADER) or request.query("key") or "").encode()
        found = next((k for k in self._keys if hmac.compare_digest(given, k[0])), None)
        if found is None:
            raise AccessDenied(message("ingest_key_missing"), "key")
        _, origins, system = found
        if system is not None:
            request.scope[PINNED_SYSTEM] = system
        origin = request.headers.get("origin")
        if origin is not None and "*" not in origins and origin.rstrip("/") not in origins:
            raise AccessDenied(message("ingest_key_origin", origin=origin), "Origin", 403)
