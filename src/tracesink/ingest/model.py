"""What a client sends: ``IncomingEntry``, decoded and type-checked by msgspec in one pass.

The fields and their types are rules.json's (``rules.FIELDS``), shared with the edge Worker. The
ones validation handles by name are declared here, typed; any other field of the rules file is
added to the struct from the file, checked against its types by msgspec and stored as sent
(``AS_SENT``), so a field a later issue adds (``build``, …) is one line of rules.json.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING, Any

import msgspec

from tracesink.rules import FIELDS, REQUIRED_FIELDS


# ``gc=False``: an entry holds strings, numbers and raw JSON only, so it can be in no reference
# cycle; a batch decodes 20 at once, and untracked they neither cost the collector a visit nor
# count towards its next collection (issue 27, workload (b) by callgrind: 25,578 -> 25,104
# instructions an entry of decode + prepare).
class KnownEntry(msgspec.Struct, frozen=True, gc=False):
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
    # The build that sent it (the browser client's data-release): picks its source maps.
    release: str | None = None
    timestamp: float | str | None = None


# msgspec's names of the JSON types (as its errors and the rules file write them) -> Python types.
JSON_TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "null": None}
AS_SENT: tuple[str, ...] = tuple(
    name for name in FIELDS if name not in KnownEntry.__struct_fields__
)


def _as_sent_field(name: str) -> tuple[str, Any] | tuple[str, Any, Any]:
    kind = functools.reduce(operator.or_, (JSON_TYPES[t] for t in FIELDS[name]))  # str | None
    return (name, kind) if name in REQUIRED_FIELDS else (name, kind, None)


if TYPE_CHECKING:  # the fields from the file are read with getattr: mypy knows the typed ones
    IncomingEntry = KnownEntry
else:
    IncomingEntry = msgspec.defstruct(
        "IncomingEntry",
        [_as_sent_field(name) for name in AS_SENT],
        bases=(KnownEntry,),
        frozen=True,
        gc=False,
        module=__name__,
    )


class KnownFieldsEntry(IncomingEntry, frozen=True, gc=False, forbid_unknown_fields=True):
    """An ``IncomingEntry`` with no field but its own: what the fast path of a batch decodes
    (validate.py), since only an unknown field can hide nesting the types do not bound."""
