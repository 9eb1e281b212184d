"""``POST /logs/{trace_id}/pin`` and ``DELETE /logs/{trace_id}/pin``: keep a trace past the TTL.

Guarded as the read routes are (the read token; an ingest key is refused): a pin is a reader's
decision, and it spends the database's memory. The duration is ``for`` in the query or the JSON
body (``7d``, ``12h``, ``30m``, ``90s`` or seconds), ``TRACESINK_PIN_S`` when absent, at most
``TRACESINK_MAX_PIN_S``; a pin past ``TRACESINK_MAX_PINS`` or ``TRACESINK_MAX_PIN_BYTES`` is
refused with 409 naming the limit.
"""

from __future__ import annotations

import re

import msgspec

from tracesink.app.http import Request, Response, error_response, json_response
from tracesink.app.read_routes import TRACE_PATH_PREFIX, trace_id_of
from tracesink.app.state import AppState
from tracesink.errors import ValidationError
from tracesink.store.pinning import Pin, PinBounds, PinStatus
from tracesink.times import iso_ms

PIN_SUFFIX = "/pin"
MAX_PIN_BODY_BYTES = 1024  # {"for": "7d"} and little else
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
DURATION = re.compile(r"([0-9]{1,9})([smhd]?)")
DURATION_RULE = "for must be a duration like 7d, 12h, 30m, 90s or a number of seconds"


def is_pin_path(path: str) -> bool:
    """``/logs/{trace_id}/pin`` (a trace id never holds a ``/``; ``/logs/pin`` is a trace)."""
    return path.startswith(TRACE_PATH_PREFIX) and path.endswith(PIN_SUFFIX) and path.count("/") == 3


def parse_duration(raw: str, max_s: int) -> int:
    """Seconds of a duration ``7d`` / ``12h`` / ``30m`` / ``90s`` / ``3600``, 1 to ``max_s``."""
    match = DURATION.fullmatch(raw.strip().lower())
    if match is None:
        raise ValidationError(DURATION_RULE, "for")
    seconds = int(match[1]) * UNITS[match[2] or "s"]
    if seconds < 1:
        raise ValidationError("for must be at least 1s", "for")
    if seconds > max_s:
        raise ValidationError(
            f"for may be at most {max_s}s (TRACESINK_MAX_PIN_S); {raw} is longer", "for"
        )
    return seconds


async def _duration(state: AppState, request: Request) -> int:
    settings = state.settings
    raw = request.query("for")
    body = await request.body(MAX_PIN_BODY_BYTES, state.deadlines)
    if raw is None and body.strip():
        try:
            document = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise ValidationError('the body must be JSON: {"for": "7d"}', "body") from None
        if not isinstance(document, dict):
            raise ValidationError('the body must be a JSON object: {"for": "7d"}', "body")
        value = document.get("for")
        if value is not None and not isinstance(value, str | int):
            raise ValidationError(DURATION_RULE, "for")
        raw = None if value is None else str(value)
    return settings.pin_s if raw is None else parse_duration(raw, settings.max_pin_s)


def _trace_id(request: Request) -> str:
    return trace_id_of(request.path[: -len(PIN_SUFFIX)])


async def post_pin(state: AppState, request: Request) -> Response:
    """Pin the trace until now + ``for``; pinning a pinned trace replaces its pin."""
    trace_id = _trace_id(request)
    seconds = await _duration(state, request)
    settings, pipeline = state.settings, state.pipeline
    now_ms = pipeline.now_ms()
    until_ms = now_ms + seconds * 1000
    bounds = PinBounds(settings.max_pins, settings.max_pin_bytes)
    outcome = await pipeline.store.pin(trace_id, until_ms, now_ms, bounds)
    if outcome.status is PinStatus.NO_TRACE:
        return error_response(404, f"no trace {trace_id}: never written, or expired", "trace_id")
    if outcome.status is PinStatus.TOO_MANY:
        return error_response(
            409,
            f"{outcome.held} traces are pinned, the most TRACESINK_MAX_PINS allows "
            f"({settings.max_pins}): unpin one first",
            "TRACESINK_MAX_PINS",
        )
    if outcome.status is PinStatus.TOO_LARGE:
        return error_response(
            409,
            f"pinning {outcome.bytes} bytes beside the {outcome.held} pinned would pass "
            f"TRACESINK_MAX_PIN_BYTES ({settings.max_pin_bytes})",
            "TRACESINK_MAX_PIN_BYTES",
        )
    content = Pin(trace_id, until_ms, outcome.bytes, now_ms).document()
    content["expires_at"] = iso_ms(outcome.expires_at_ms)
    return json_response(200, content)


async def delete_pin(state: AppState, request: Request) -> Response:
    """Unpin: the trace's normal expiry again (gone at once when its TTL has passed)."""
    trace_id = _trace_id(request)
    pipeline = state.pipeline
    if not await pipeline.store.unpin(trace_id, pipeline.now_ms()):
        return error_response(404, f"trace {trace_id} is not pinned", "trace_id")
    return json_response(200, {"trace_id": trace_id, "pinned": False})
