"""The JSON stored for an entry (docs/http-api.md, "Stored entry"), as one msgspec Struct.

Its fields are the stored keys in the wire contract's order; a field left at None is not
written (``omit_defaults``). Encoding a Struct costs about half of building a dict with the same
keys and encoding that (issue 27: ~1.8 -> ~0.9 us an entry): msgspec writes a Struct's keys from
its definition instead of hashing and encoding each key of each dict. The bytes are the same, key
for key (the shared vectors pin them). ``gc=False``: it holds strings, numbers and raw JSON
only, so it can be in no reference cycle, and the collector need not track one per entry.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracesink.ingest.clock import OFFSET_FIELD, SENT_FIELD
from tracesink.ingest.model import AS_SENT

# (name, type, default): every key may be absent, so every one defaults to None (omitted).
_FIELDS = [
    "id",
    "trace_id",
    "user_id",
    "system",
    "level",
    "message",
    "stack",
    "release",
    "timestamp",
    "received_at",
    SENT_FIELD,
    OFFSET_FIELD,
    *AS_SENT,  # fields the rules file adds, stored as sent (ingest/model.py)
    "context",
    "truncated",
    "detected_by",
    "counted_as",
    "trace_id_from",
]

# Built from the list, since the rules file may add fields: keyword arguments are its API.
StoredEntry: Any = msgspec.defstruct(
    "StoredEntry",
    [(name, Any, None) for name in _FIELDS],
    omit_defaults=True,
    gc=False,
    module=__name__,
)


def as_dict(stored: Any) -> dict[str, Any]:
    """The keys ``stored`` writes, as a dict (for ``servable``, which walks plain values)."""
    return {k: v for k, v in msgspec.structs.asdict(stored).items() if v is not None}
