"""What a client sends (``IncomingEntry``) and what a store is handed (``PreparedEntry``)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

LEVELS = ("log", "info", "warn", "error")
# Accepted and stored under the level they mean; `debug` is `log` because browsers print
# console.debug as a verbose console.log, and the wire contract keeps four levels.
LEVEL_ALIASES = {"debug": "log", "trace": "log", "warning": "warn", "fatal": "error"}


class IncomingEntry(msgspec.Struct, frozen=True):
    """One log entry as sent; unknown fields are ignored so that newer clients still work."""

    trace_id: str
    message: str
    level: str = "log"
    system: str | None = None
    # Kept as the JSON it was sent as: checked, then stored without a decode and re-encode.
    # (msgspec takes no ``Raw | None``: an absent context is the empty Raw, ``null`` is b"null".)
    context: msgspec.Raw = msgspec.Raw(b"")
    user_id: str | int | None = None
    stack: str | None = None
    timestamp: float | str | None = None


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """A validated entry: what the limits need to know plus the JSON stored in the trace's list."""

    id: str
    trace_id: str
    system: str
    payload: bytes
