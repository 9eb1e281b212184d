"""Query parameters of the read routes, parsed into filters; a 400 names the bad parameter.

level=warn            this severity or worse (log < info < warn < error)
system=browser,worker any of these systems (repeat the parameter or separate with commas)
q=timeout             case-insensitive text in message, stack, user_id or context
since=<entry id>      only entries (or traces with entries) newer than this id
order=arrival         a trace as stored, rather than by event time (order=event, the default)
"""

from __future__ import annotations

from urllib.parse import parse_qs

from tracesink.app.http import Request
from tracesink.errors import ValidationError
from tracesink.model import LEVEL_ALIASES, LOG_LEVELS, SYSTEM_NAME, SYSTEM_NAME_RULE
from tracesink.read_filter import ENTRY_ID, ENTRY_ID_RULE, EntryFilter, TraceFilter
from tracesink.read_order import ORDER_RULE, ORDERS

MAX_TEXT_CHARS = 200


def _params(request: Request) -> dict[str, list[str]]:
    raw = request.scope.get("query_string", b"").decode("latin-1")
    return parse_qs(raw, keep_blank_values=False)


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _level(params: dict[str, list[str]]) -> str | None:
    raw = _one(params, "level")
    if raw is None:
        return None
    level = LEVEL_ALIASES.get(raw.lower(), raw.lower())
    if level not in LOG_LEVELS:
        raise ValidationError(f"level must be one of {', '.join(LOG_LEVELS)}", "level")
    return level


def _systems(params: dict[str, list[str]]) -> frozenset[str] | None:
    names = [name for raw in params.get("system", []) for name in raw.split(",") if name]
    if not names:
        return None
    for name in names:
        if not SYSTEM_NAME.fullmatch(name):
            raise ValidationError(f"system {name!r} is not valid: {SYSTEM_NAME_RULE}", "system")
    return frozenset(names)


def since_of(raw: str | None, field: str = "since") -> str | None:
    if raw is None or raw == "":
        return None
    if not ENTRY_ID.fullmatch(raw):
        raise ValidationError(f"{field} must be {ENTRY_ID_RULE}", field)
    return raw


def entry_filter(request: Request) -> EntryFilter:
    params = _params(request)
    text = _one(params, "q")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise ValidationError(f"q must be at most {MAX_TEXT_CHARS} characters", "q")
    return EntryFilter(
        level=_level(params),
        systems=_systems(params),
        text=text or None,
        since=since_of(_one(params, "since")),
    )


def trace_filter(request: Request) -> TraceFilter:
    params = _params(request)
    return TraceFilter(
        level=_level(params), systems=_systems(params), since=since_of(_one(params, "since"))
    )


def order_of(request: Request) -> str:
    """``order``: event (the default) or arrival; read_order.py says what each means."""
    raw = _one(_params(request), "order")
    if raw is None or raw == "":
        return "event"
    if raw not in ORDERS:
        raise ValidationError(ORDER_RULE, "order")
    return raw
