"""Carry the current trace on: headers for outgoing calls, and the trace id of incoming ones.

``trace_headers()`` is ``{"X-Trace-Id": id}`` plus a W3C ``traceparent`` when the id is 32 hex
digits (the span id of the active OpenTelemetry span when there is one, else a new one). For
clients: ``httpx.Client(event_hooks=httpx_event_hooks())`` (``async_httpx_event_hooks()`` for
``httpx.AsyncClient``), ``mount_requests(session)`` for ``requests``; headers the caller set win.
"""

from __future__ import annotations

import importlib
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from tracesink.client.context import current_trace_id, otel_span, valid_trace_id

_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?")
_W3C_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def trace_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """X-Trace-Id, else the trace id of traceparent; None when neither is there or valid.

    ``headers`` has lower-case names. A malformed header is ignored here (the application
    should not fail because of a log header); the sink would refuse it.
    """
    given = valid_trace_id((headers.get("x-trace-id") or "").strip())
    if given is not None:
        return given
    found = _TRACEPARENT.fullmatch((headers.get("traceparent") or "").strip())
    if found is None or found.group(1) == "0" * 32 or found.group(2) == "0" * 16:
        return None
    return found.group(1)


def _parent_id(trace_id: str) -> str:
    """The active OpenTelemetry span's id when it belongs to this trace, else a new one."""
    span = otel_span()
    return span[1] if span is not None and span[0] == trace_id else secrets.token_hex(8)


def trace_headers(trace_id: str | None = None) -> dict[str, str]:
    """The headers that carry ``trace_id`` (default: the current one) on; {} without one."""
    trace_id = valid_trace_id(trace_id) if trace_id is not None else current_trace_id()
    if trace_id is None:
        return {}
    headers = {"X-Trace-Id": trace_id}
    if _W3C_TRACE_ID.fullmatch(trace_id) and trace_id != "0" * 32:
        headers["traceparent"] = f"00-{trace_id}-{_parent_id(trace_id)}-01"
    return headers


def add_trace_headers(headers: MutableMapping[str, str], trace_id: str | None = None) -> None:
    """Add the trace headers to ``headers`` unless it already has them (any case)."""
    present = {name.lower() for name in headers}
    for name, value in trace_headers(trace_id).items():
        if name.lower() not in present:
            headers[name] = value


def httpx_event_hooks() -> dict[str, list[Callable[[Any], None]]]:
    """``httpx.Client(event_hooks=httpx_event_hooks())``: every request carries the trace on."""

    def on_request(request: Any) -> None:
        add_trace_headers(request.headers)

    return {"request": [on_request]}


def async_httpx_event_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """``httpx.AsyncClient(event_hooks=async_httpx_event_hooks())``."""

    async def on_request(request: Any) -> None:
        add_trace_headers(request.headers)

    return {"request": [on_request]}


def mount_requests(session: Any) -> Any:
    """Mount an adapter on a ``requests.Session`` that adds the trace headers to every request;
    returns the session. ``requests`` is imported here, only when this is called."""
    adapters = importlib.import_module("requests.adapters")

    class TraceHeadersAdapter(adapters.HTTPAdapter):  # type: ignore[misc,name-defined]
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            add_trace_headers(request.headers)
            return super().send(request, *args, **kwargs)

    for prefix in ("http://", "https://"):
        session.mount(prefix, TraceHeadersAdapter())
    return session
