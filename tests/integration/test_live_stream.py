"""The live stream over real HTTP: `tracesink serve` processes, server-sent events, memory:// and
two instances on one Redis, resuming with Last-Event-ID, filters and read auth."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.live import reading
from tests.support.redis_server import RedisServer
from tests.support.refusal import assert_refused
from tests.support.service import Service, serving, stop_service

pytestmark = pytest.mark.slow
TOKEN = "live-stream-read-token"  # noqa: S105  # a test token, not a secret
GRACE_S = 10  # tracesink serve's graceful shutdown period (server/run.py)


def post(service: Service, trace_id: str, message: str, **extra: str) -> str:
    body = {"trace_id": trace_id, "message": message, "system": "manual", **extra}
    response = httpx.post(f"{service.url}/log", json=body, timeout=10)
    assert response.status_code == 200, response.text
    entry_id: str = response.json()["id"]
    return entry_id


@pytest.fixture(scope="module")
def memory_service() -> Iterator[Service]:
    with serving() as service:
        yield service


def test_a_trace_stream_replays_the_trace_then_follows_it(memory_service: Service) -> None:
    """On memory://, the stream first replays what the trace holds, then sends each new entry
    as it is stored, with the entry id as the event id."""
    first = post(memory_service, "follow-me", "before")
    with reading(f"{memory_service.url}/logs/follow-me/live") as live:
        assert live.status == 200
        assert [e["id"] for e in live.until_ready()] == [first]
        second = post(memory_service, "follow-me", "after")
        post(memory_service, "someone-else", "not this trace")
        entry = live.next_entry()
        assert (entry["id"], entry["message"]) == (second, "after")
        assert live.nothing_more()


def test_the_every_trace_stream_starts_now_and_applies_filters(memory_service: Service) -> None:
    """GET /live sends new entries of every trace, not old ones; ?level= keeps the severe."""
    post(memory_service, "old-news", "already there", level="error")
    with reading(f"{memory_service.url}/live?level=warn") as live:
        assert live.until_ready() == []
        post(memory_service, "a", "quiet", level="info")
        post(memory_service, "b", "loud", level="error")
        post(memory_service, "c", "careful", level="warn")
        assert [live.next_entry()["message"] for _ in range(2)] == ["loud", "careful"]
        assert live.nothing_more()


def test_resuming_with_last_event_id_has_no_gap_and_no_repeat(memory_service: Service) -> None:
    """A client that reconnects with Last-Event-ID gets exactly what was stored meanwhile."""
    with reading(f"{memory_service.url}/logs/resume/live") as live:
        live.until_ready()
        seen = post(memory_service, "resume", "one")
        assert live.next_entry()["id"] == seen
    missed = [post(memory_service, "resume", f"while away {i}") for i in range(3)]
    with reading(f"{memory_service.url}/logs/resume/live", {"Last-Event-ID": seen}) as live:
        assert [e["id"] for e in live.until_ready()] == missed
        after = post(memory_service, "resume", "back")
        assert live.next_entry()["id"] == after
        assert live.nothing_more()


def test_the_every_trace_stream_resumes_across_traces(memory_service: Service) -> None:
    """GET /live with Last-Event-ID replays, in id order, what every trace stored meanwhile."""
    with reading(f"{memory_service.url}/live") as live:
        live.until_ready()
        seen = post(memory_service, "across-1", "seen")
        assert live.next_entry()["id"] == seen
    missed = [post(memory_service, f"across-{i % 2}", f"missed {i}") for i in range(4)]
    with reading(f"{memory_service.url}/live", {"Last-Event-ID": seen}) as live:
        assert [e["id"] for e in live.until_ready()] == missed
        assert live.nothing_more()


def test_a_bad_cursor_is_refused_before_streaming(memory_service: Service) -> None:
    """A malformed since or Last-Event-ID is a 400 naming it, not a stream."""
    response = httpx.get(f"{memory_service.url}/logs/x/live?since=nope", timeout=5)
    assert (response.status_code, response.json()["field"]) == (400, "since")
    response = httpx.get(f"{memory_service.url}/live", headers={"Last-Event-ID": "x"}, timeout=5)
    assert (response.status_code, response.json()["field"]) == (400, "Last-Event-ID")


def test_live_reads_need_the_token_when_one_is_set() -> None:
    """The streams are read routes: 401 without the bearer token, a stream with it."""
    with serving({"TRACESINK_READ_TOKEN": TOKEN}) as service:
        refused = httpx.get(f"{service.url}/live", timeout=5)
        assert_refused(refused, 401, "Authorization", "TRACESINK_READ_TOKEN")
        with reading(f"{service.url}/live", {"Authorization": f"Bearer {TOKEN}"}) as live:
            assert live.status == 200
            live.until_ready()


def test_stopping_the_server_ends_open_streams_at_once() -> None:
    """SIGTERM with streams open: they end (an EventSource would reconnect with its
    Last-Event-ID), and tracesink exits 0 without using up its 10 s grace period, as a stream
    that never ends would (uvicorn would then say it cancelled tasks)."""
    with serving() as service, reading(f"{service.url}/live") as live:
        live.until_ready()
        with reading(f"{service.url}/logs/held-open/live") as other:
            other.until_ready()
            started = time.monotonic()
            assert stop_service(service, signal.SIGTERM) == 0
            took = time.monotonic() - started
            assert live.nothing_more(2), "the every-trace stream was not ended"
            assert other.nothing_more(2), "the trace's stream was not ended"
        _, err = service.process.communicate()
        assert "graceful shutdown exceeded" not in err
        assert took < GRACE_S, f"exit took {took:.1f} s"


@pytest.mark.redis
def test_an_entry_written_through_one_instance_streams_from_the_other(
    redis_server: RedisServer,
) -> None:
    """Two instances on one Redis: an entry stored by B reaches streams served by A (one trace
    and every trace), once, by A polling the store while its streams are open."""
    redis.Redis.from_url(redis_server.url).flushall()
    env = {"TRACESINK_STORE": redis_server.url, "TRACESINK_LIVE_POLL_S": "0.2"}
    with serving(env) as a, serving(env) as b:
        with reading(f"{a.url}/logs/shared/live") as one, reading(f"{a.url}/live") as every:
            one.until_ready()
            every.until_ready()
            from_b = post(b, "shared", "stored by B")
            from_a = post(a, "shared", "stored by A")
            assert {one.next_entry()["id"], one.next_entry()["id"]} == {from_a, from_b}
            assert {every.next_entry()["id"], every.next_entry()["id"]} == {from_a, from_b}
            assert one.nothing_more(0.6)
            assert every.nothing_more(0.1)
        # Resume on the other instance, from the first of the two.
        first = min(from_a, from_b)
        with reading(f"{b.url}/logs/shared/live", {"Last-Event-ID": first}) as resumed:
            assert [e["id"] for e in resumed.until_ready()] == [max(from_a, from_b)]
