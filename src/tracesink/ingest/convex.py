"""Convex log-stream webhook deliveries: the signature, and events turned into entries.

A Convex deployment POSTs batches of events (a JSON array, or JSONL) signed with HMAC-SHA256 over
the raw body, ``x-webhook-signature: sha256=<lowercase hex>``. ``console`` events become entries;
a failed ``function_execution`` becomes an ``error`` entry (the failure belongs in the story);
every other topic (``verification``, successful executions, ``audit_log``, topics newer than this
code) is counted and ignored, never an error that fails the delivery. Streams created before
2024-05-23 use the legacy schema (``_topic``, ``_timestamp``, ``_functionPath`` …), read here too.

Convex has no trace id: a ``[trace:<id>]`` tag in the message names the trace (and is removed from
the stored message), else the trace an earlier tagged line of the same ``request_id`` named
(``ingest/convex_requests.py``; a failure event carries no tag, yet belongs beside its logs), else
the ``request_id`` itself. Each event's key is the SHA-256 of
its canonical JSON, so a delivery Convex repeats can be recognised (``ingest/recent.py``).
Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from tracesink.errors import AccessDenied, ValidationError
from tracesink.ingest.model import IncomingEntry
from tracesink.ingest.servable import surrogates_replaced

SIGNATURE_HEADER = "x-webhook-signature"
CONVEX = "convex"
TRACE_TAG = re.compile(r"\[trace:([A-Za-z0-9._:-]{1,128})\] ?")
# Convex's log_level → the level stored (log_level() maps the aliases).
_LEVELS = {"DEBUG": "debug", "INFO": "info", "LOG": "log", "WARN": "warn", "ERROR": "error"}
_canonical = msgspec.json.Encoder(order="sorted").encode
_encode = msgspec.json.Encoder().encode
_decode_items = msgspec.json.Decoder(list[msgspec.Raw]).decode


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """AccessDenied (401) unless ``header`` is ``sha256=<hex HMAC-SHA256 of body>``."""
    if not header:
        raise AccessDenied(
            f"a Convex delivery needs the {SIGNATURE_HEADER} header", SIGNATURE_HEADER
        )
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = header.strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(given, expected.encode()):
        raise AccessDenied(
            f"{SIGNATURE_HEADER} does not match the body signed with "
            "TRACESINK_CONVEX_WEBHOOK_SECRET",
            SIGNATURE_HEADER,
        )


@dataclass(frozen=True, slots=True)
class ConvexEntry:
    """An event that becomes an entry: its entry, and the key that recognises it when repeated."""

    key: bytes
    entry: IncomingEntry
    index: int  # its position in the delivery
    request_id: str | None = None  # the Convex function call that logged it
    tagged: bool = False  # its trace came from a [trace:<id>] tag, not from the request id


@dataclass(slots=True)
class Delivery:
    entries: list[ConvexEntry] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)  # topic (or "malformed") → count

    def ignore(self, why: str) -> None:
        self.ignored[why] = self.ignored.get(why, 0) + 1


def split_trace_tag(message: str) -> tuple[str | None, str]:
    """(the trace id of the first ``[trace:<id>]`` tag, the message without it)."""
    found = TRACE_TAG.search(message)
    if found is None:
        return None, message
    return found.group(1), message[: found.start()] + message[found.end() :]


def _items(body: bytes) -> list[bytes | msgspec.Raw]:
    stripped = body.strip()
    if not stripped:
        raise ValidationError("the delivery holds no events", field="body")
    if stripped.startswith(b"["):
        try:
            return list(_decode_items(stripped))
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            raise ValidationError("body is not a valid JSON array", field="body") from None
    return [line for line in stripped.split(b"\n") if line.strip()]


def _normalised(event: dict[str, Any]) -> dict[str, Any]:
    """The current schema's field names for a legacy event, and a ``data`` wrapper unwrapped."""
    data = event.get("data")
    if isinstance(data, dict) and "topic" not in event and "_topic" not in event:
        event = {**data, **{k: v for k, v in event.items() if k != "data"}}
    elif isinstance(data, dict) and "function" not in event:
        event = {**data, **event}
    if "_topic" not in event:
        return event
    function = {
        "path": event.get("_functionPath"),
        "type": event.get("_functionType"),
        "cached": event.get("_functionCached"),
        "request_id": event.get("_functionRequestId"),
    }
    return {
        **event,
        "topic": str(event["_topic"]).lstrip("_"),
        "timestamp": event.get("_timestamp"),
        "function": {k: v for k, v in function.items() if v is not None},
        "error_message": event.get("reason"),
    }


def _entry(event: dict[str, Any]) -> tuple[IncomingEntry, str | None, bool] | str:
    """(the entry of one event, its request id, whether a tag named its trace), or why it has
    none (its topic, or ``untraced``)."""
    topic = event.get("topic")
    function = event.get("function")
    function = function if isinstance(function, dict) else {}
    if topic == "console":
        text, level = event.get("message"), _LEVELS.get(str(event.get("log_level")), "log")
    elif topic == "function_execution" and event.get("status") == "failure":
        what = f"{function.get('type') or 'function'} {function.get('path') or '?'}"
        text, level = f"{what} failed: {event.get('error_message') or 'no error message'}", "error"
    else:
        return str(topic) if isinstance(topic, str) else "malformed"
    if not isinstance(text, str):
        text = "" if text is None else _encode(text).decode()
    tagged_id, message = split_trace_tag(text)
    request_id = function.get("request_id")
    request_id = request_id if isinstance(request_id, str) and request_id else None
    trace_id = tagged_id or request_id
    if trace_id is None:
        return "untraced"
    context = {
        "topic": topic,
        **{f"function_{k}": v for k, v in function.items() if k in ("path", "type", "cached")},
        **({"request_id": request_id} if request_id else {}),
    }
    for name in ("is_truncated", "system_code", "execution_time_ms"):
        if event.get(name) is not None:
            context[name] = event[name]
    timestamp = event.get("timestamp")
    entry = IncomingEntry(
        message=message,
        trace_id=trace_id,
        level=level,
        system=CONVEX,
        context=msgspec.Raw(_encode(context)),
        timestamp=timestamp if isinstance(timestamp, int | float) else None,
    )
    return entry, request_id, tagged_id is not None


def parse_delivery(body: bytes) -> Delivery:
    """The entries a delivery's events make; a body that is neither a JSON array nor JSONL is a
    ValidationError, while one bad event is only counted as ``malformed``."""
    delivery = Delivery()
    # A console line cut inside an emoji by the function's own code arrives as a lone surrogate
    # escape: kept as U+FFFD, as the JSON routes keep it, rather than the event lost as malformed.
    for index, item in enumerate(_items(surrogates_replaced(body))):
        try:
            event = msgspec.json.decode(item)
        except (msgspec.DecodeError, UnicodeDecodeError):
            event = None
        if not isinstance(event, dict):
            delivery.ignore("malformed")
            continue
        made = _entry(_normalised(event))
        if isinstance(made, str):
            delivery.ignore(made)
            continue
        key = hashlib.sha256(_canonical(event)).digest()
        entry, request_id, tagged = made
        delivery.entries.append(ConvexEntry(key, entry, index, request_id, tagged))
    return delivery
