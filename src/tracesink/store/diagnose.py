"""Why a store cannot be reached, in words a person can act on, and a probe run at start-up.

A driver's exception names its own layer (``redis.exceptions.ConnectionError``, ``StorageError``)
and hides the cause a few links down its chain: the socket error, the TLS failure, the refused
password. ``cause_of`` walks the chain and names the first cause it knows.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from tracesink.limits import Policy

# Causes that waiting does not cure: start-up stops instead of spooling until someone notices.
FATAL = ("authentication failed", "TLS failed")


@dataclass(frozen=True, slots=True)
class StoreProblem:
    cause: str

    @property
    def fatal(self) -> bool:
        return self.cause.startswith(FATAL)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def cause_of(exc: BaseException) -> str:
    """The first known cause in ``exc``'s chain: name resolution, refused, authentication, TLS,
    timeout; else the exception's own (already masked) message."""
    for link in _chain(exc):
        text = str(link)
        if isinstance(link, socket.gaierror):
            return "name resolution failed: the store's host name is not known"
        if isinstance(link, ssl.SSLCertVerificationError):
            return f"TLS failed: the server's certificate was not accepted ({link.verify_message})"
        if isinstance(link, ssl.SSLError):
            return f"TLS failed: {getattr(link, 'reason', None) or 'the handshake failed'}"
        if isinstance(link, ConnectionRefusedError):
            return "connection refused: nothing listens at that address and port"
        if (
            type(link).__name__ == "AuthenticationError"
            or "WRONGPASS" in text
            or "NOAUTH" in text
            or "token was refused" in text
        ):
            return "authentication failed: the password or token was refused (or none was sent)"
        if isinstance(link, TimeoutError) or type(link).__name__ == "TimeoutError":
            return (
                "timed out: no answer (a firewall, a wrong port, or TLS spoken to a plain port "
                "or the reverse)"
            )
    return f"{type(exc).__name__}: {exc}"


async def probe(url: str, policy: Policy) -> StoreProblem | None:
    """Ping a store of its own for ``url`` (so the one that serves starts fresh on its loop);
    None when it answers."""
    from tracesink.store import open_store  # the table imports drivers lazily; so does this

    store = open_store(url, policy)
    try:
        await store.ping()
    except Exception as exc:  # any failure to reach the store is what this reports
        return StoreProblem(cause_of(exc))
    finally:
        # Closing a store that never connected may fail too; the cause is already known.
        with contextlib.suppress(Exception):
            await store.close()
    return None
