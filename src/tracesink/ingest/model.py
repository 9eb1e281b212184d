"""What a client sends: ``IncomingEntry``, decoded and type-checked by msgspec in one pass."""

from __future__ import annotations

import msgspec


class IncomingEntry(msgspec.Struct, frozen=True):
    """One log entry as sent; unknown fields are ignored so that newer clients still work."""

    message: str
    # Absent: taken from the request's X-Trace-Id or traceparent header (ingest/trace_context.py).
    trace_id: str | None = None
    level: str | int = "log"
    system: str | None = None
    # Kept as the JSON it was sent as: checked, then stored without a decode and re-encode.
    # (msgspec takes no ``Raw | None``: an absent context is the empty Raw, ``null`` is b"null".)
    context: msgspec.Raw = msgspec.Raw(b"")
    user_id: str | int | None = None
    stack: str | None = None
    timestamp: float | str | None = None


class KnownFieldsEntry(IncomingEntry, frozen=True, forbid_unknown_fields=True):
    """An ``IncomingEntry`` with no field but its own: what the fast path of a batch decodes
    (validate.py), since only an unknown field can hide nesting the types do not bound."""
