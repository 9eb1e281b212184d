"""The current trace id: tracesink.trace as a block and a decorator, across asyncio tasks and
threads, and OpenTelemetry's active span as the fallback."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest
from opentelemetry import trace as otel
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import tracesink
from tracesink.client import current_trace_id, new_trace_id, trace


def test_a_block_sets_the_trace_and_restores_the_previous_one() -> None:
    """Inside the block the id is current; nesting restores the outer one; after, none."""
    assert current_trace_id() is None
    with tracesink.trace("outer") as outer:
        assert outer == current_trace_id() == "outer"
        with trace("inner"):
            assert current_trace_id() == "inner"
        assert current_trace_id() == "outer"
    assert current_trace_id() is None


def test_without_an_id_a_new_w3c_compatible_one_is_made() -> None:
    """trace() starts a new trace: 32 lowercase hex digits."""
    with trace() as made:
        assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert new_trace_id() != new_trace_id()


def test_an_invalid_id_is_refused_where_it_is_written() -> None:
    """A ValueError at the call, not a 400 from the sink later."""
    with pytest.raises(ValueError, match="not a trace id"):
        trace("has space")


def test_as_a_decorator_each_call_runs_under_the_trace() -> None:
    """A decorated function sees the given id; without one, each call gets its own."""

    @trace("job-7")
    def given() -> str | None:
        return current_trace_id()

    @trace()
    def fresh() -> str | None:
        return current_trace_id()

    assert given() == "job-7"
    first, second = fresh(), fresh()
    assert first is not None
    assert second is not None
    assert first != second
    assert current_trace_id() is None


async def test_coroutines_and_the_tasks_they_start_keep_the_trace() -> None:
    """An async function decorated, and tasks created inside a block, see the trace; concurrent
    tasks under different traces do not mix."""

    @trace("async-1")
    async def handler() -> list[str | None]:
        async def child() -> str | None:
            await asyncio.sleep(0)
            return current_trace_id()

        return list(await asyncio.gather(child(), asyncio.create_task(child())))

    async def under(trace_id: str) -> str | None:
        with trace(trace_id):
            await asyncio.sleep(0.01)
            return current_trace_id()

    assert await handler() == ["async-1", "async-1"]
    assert list(await asyncio.gather(under("a"), under("b"))) == ["a", "b"]


def test_threads_have_their_own() -> None:
    """A thread started inside a block does not inherit it (contextvars are per thread)."""
    seen: list[str | None] = []
    with trace("main-only"):
        thread = threading.Thread(target=lambda: seen.append(current_trace_id()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_the_active_opentelemetry_span_is_the_fallback() -> None:
    """Without tracesink.trace, the active OpenTelemetry span's trace id (32 hex) is current;
    an explicit trace still wins."""
    context = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(1),
    )
    with otel.use_span(NonRecordingSpan(context)):
        assert current_trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
        with trace("explicit"):
            assert current_trace_id() == "explicit"
    assert current_trace_id() is None
