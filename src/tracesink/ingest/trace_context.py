"""The trace id a request carries in its headers, for entries that do not name their own.

An entry's own ``trace_id`` wins; else ``X-Trace-Id`` (tracesink's own header, any valid trace
id); else a W3C ``traceparent`` (https://www.w3.org/TR/trace-context/), whose 32-hex-digit trace
id becomes the entry's. A header is only read when an entry needs it, so a malformed header on a
request whose entries all carry their own id changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tracesink.errors import ValidationError
from tracesink.rules import TRACE_ID as TRACE_ID  # the pattern and its message: rules.json
from tracesink.rules import TRACE_ID_RULE as TRACE_ID_RULE
from tracesink.rules import message

# version "-" trace-id "-" parent-id "-" flags, all lowercase hex. Versions above 00 may append
# fields after the flags (the specification's forward compatibility); ff is never valid.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE, _ZERO_PARENT = "0" * 32, "0" * 16


@dataclass(frozen=True, slots=True)
class HeaderTraceId:
    """The trace id a request's headers supply, and the header that supplied it."""

    trace_id: str
    source: str  # "x-trace-id" or "traceparent"


def trace_id_from_headers(headers: Mapping[str, str]) -> HeaderTraceId | None:
    """The trace id of ``X-Trace-Id``, else of ``traceparent``; None when neither is sent.

    A header that is sent but malformed is a 400 naming it: silently starting a new trace would
    split the story the client meant to tell.
    """
    given = headers.get("x-trace-id")
    if given is not None:
        given = given.strip()
        if not TRACE_ID.fullmatch(given):
            raise ValidationError(message("x_trace_id", rule=TRACE_ID_RULE), field="X-Trace-Id")
        return HeaderTraceId(given, "x-trace-id")
    parent = headers.get("traceparent")
    if parent is not None:
        return HeaderTraceId(parse_traceparent(parent), "traceparent")
    return None


def parse_traceparent(value: str) -> str:
    """The trace id of a W3C ``traceparent`` value; ValidationError naming what is wrong."""
    found = _TRACEPARENT.fullmatch(value.strip())
    if found is None:
        raise ValidationError(message("traceparent_form"), field="traceparent")
    version, trace_id, parent_id, _, extra = found.groups()
    if version == "ff":
        raise ValidationError(message("traceparent_version"), field="traceparent")
    if version == "00" and extra is not None:
        raise ValidationError(message("traceparent_fields"), field="traceparent")
    if trace_id == _ZERO_TRACE or parent_id == _ZERO_PARENT:
        raise ValidationError(message("traceparent_zero"), field="traceparent")
    return trace_id
