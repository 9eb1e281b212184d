"""Carrying the trace on: headers for outgoing calls (plain, httpx, requests) and the trace id
of incoming headers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import requests
import requests.adapters
from opentelemetry import trace as otel
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from tracesink.client import (
    async_httpx_event_hooks,
    httpx_event_hooks,
    mount_requests,
    trace,
    trace_headers,
    trace_id_from_headers,
)

W3C = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_no_trace_no_headers() -> None:
    """Outside any trace nothing is added."""
    assert trace_headers() == {}


def test_a_w3c_id_travels_as_x_trace_id_and_traceparent() -> None:
    """A 32-hex id also makes a valid traceparent with a new parent id; another id only
    X-Trace-Id (a traceparent cannot carry it)."""
    with trace(W3C):
        headers = trace_headers()
    assert headers["X-Trace-Id"] == W3C
    assert re.fullmatch(rf"00-{W3C}-[0-9a-f]{{16}}-01", headers["traceparent"])
    assert trace_headers("checkout-42") == {"X-Trace-Id": "checkout-42"}


def test_the_parent_id_is_the_active_spans_when_it_is_this_trace() -> None:
    """Under an OpenTelemetry span of the same trace, traceparent names that span."""
    context = SpanContext(int(W3C, 16), 0x00F067AA0BA902B7, False, TraceFlags(1))
    with otel.use_span(NonRecordingSpan(context)):
        assert trace_headers()["traceparent"] == f"00-{W3C}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-trace-id": "abc"}, "abc"),
        ({"x-trace-id": "abc", "traceparent": f"00-{W3C}-00f067aa0ba902b7-01"}, "abc"),
        ({"traceparent": f"00-{W3C}-00f067aa0ba902b7-01"}, W3C),
        ({"x-trace-id": "bad id", "traceparent": f"00-{W3C}-00f067aa0ba902b7-01"}, W3C),
        ({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, None),
        ({"traceparent": "garbage"}, None),
        ({}, None),
    ],
)
def test_incoming_trace_ids(headers: dict[str, str], expected: str | None) -> None:
    """X-Trace-Id, else traceparent's trace id; malformed ones are ignored, not fatal."""
    assert trace_id_from_headers(headers) == expected


def echo_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    return httpx.MockTransport(answer)


def test_httpx_clients_carry_the_trace_and_keep_headers_the_caller_set() -> None:
    """The event hook adds X-Trace-Id; a header the caller set is left alone."""
    seen: list[httpx.Request] = []
    with httpx.Client(transport=echo_transport(seen), event_hooks=httpx_event_hooks()) as client:
        with trace("t-httpx"):
            client.get("http://worker.example/")
            client.get("http://worker.example/", headers={"X-Trace-Id": "mine"})
        client.get("http://worker.example/")
    assert [r.headers.get("x-trace-id") for r in seen] == ["t-httpx", "mine", None]


async def test_async_httpx_clients_carry_the_trace() -> None:
    """The async hook does the same for httpx.AsyncClient."""
    seen: list[httpx.Request] = []
    hooks: Any = async_httpx_event_hooks()
    async with httpx.AsyncClient(transport=echo_transport(seen), event_hooks=hooks) as client:
        with trace("t-async"):
            await client.get("http://worker.example/")
    assert seen[0].headers["x-trace-id"] == "t-async"


def test_requests_sessions_carry_the_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    """mount_requests puts an adapter on the session that adds the headers to what it sends."""
    sent: list[Any] = []

    def record(self: Any, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        sent.append(request)
        response = requests.Response()
        response.status_code = 204
        return response

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", record)  # no network
    session = mount_requests(requests.Session())
    with trace("t-requests"):
        session.get("http://worker.example/")
    assert sent[0].headers["X-Trace-Id"] == "t-requests"
