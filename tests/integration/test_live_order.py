"""Live streams and event time (docs/http-api.md, Order): a stream delivers entries in arrival
order, so a late entry carrying an early time is sent when it arrives, and a resume by
Last-Event-ID (an arrival id) never skips it. Over real HTTP against `tracesink serve`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.live import reading
from tests.support.service import Service, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with serving() as running:
        yield running


def post(service: Service, trace_id: str, message: str, at_ms: int) -> str:
    body = {"trace_id": trace_id, "message": message, "timestamp": at_ms}
    response = httpx.post(f"{service.url}/log", json=body, timeout=10)
    assert response.status_code == 200, response.text
    entry_id: str = response.json()["id"]
    return entry_id


def test_a_late_entry_with_an_early_time_is_streamed_when_it_arrives(service: Service) -> None:
    """The replay and the live part are both in arrival order; the late entry comes last on
    the stream, with its own early timestamp for the client to place."""
    now_ms = round(time.time() * 1000)
    post(service, "live-late", "second", now_ms - 1000)
    with reading(f"{service.url}/logs/live-late/live") as live:
        assert [e["message"] for e in live.until_ready()] == ["second"]
        post(service, "live-late", "first, sent late", now_ms - 5000)
        entry = live.next_entry()
        assert entry["message"] == "first, sent late"
        assert entry["timestamp"] < entry["received_at"]


def test_resuming_by_last_event_id_never_skips_a_late_entry(service: Service) -> None:
    """A client that saw "b" (the newest by time) and resumes with its id gets "a", which
    arrived after it with an earlier time: the cursor is arrival, not event time."""
    now_ms = round(time.time() * 1000)
    seen = post(service, "live-resume", "b", now_ms)
    late = post(service, "live-resume", "a", now_ms - 60_000)
    with reading(f"{service.url}/logs/live-resume/live", {"Last-Event-ID": seen}) as live:
        assert [e["id"] for e in live.until_ready()] == [late]
