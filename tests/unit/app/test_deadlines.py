"""Body-read deadlines: one sweeper cuts reads that outlive the timeout, and only those."""

from __future__ import annotations

import asyncio

import pytest

from tracesink.app import deadlines
from tracesink.app.deadlines import BodyDeadlines


@pytest.fixture(autouse=True)
def fast_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deadlines, "SWEEP_EVERY_S", 0.01)


async def test_a_read_past_its_deadline_raises_timeout_error() -> None:
    guard = BodyDeadlines(0.05)
    with pytest.raises(TimeoutError), guard.guard():
        await asyncio.sleep(5)


async def test_a_read_within_its_deadline_is_untouched_and_the_sweeper_stops() -> None:
    """A quick read finishes normally; with no read in flight, no timer stays scheduled."""
    guard = BodyDeadlines(1.0)
    with guard.guard():
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)
    assert guard._sweeper is None


async def test_only_the_overdue_read_is_cut() -> None:
    """Reads that started later keep their own allowance; an outside cancel is not a timeout."""
    guard = BodyDeadlines(0.1)

    async def read(seconds: float) -> str:
        try:
            with guard.guard():
                await asyncio.sleep(seconds)
        except TimeoutError:
            return "timed out"
        return "done"

    slow = asyncio.create_task(read(5))
    await asyncio.sleep(0.06)
    quick = asyncio.create_task(read(0.06))
    assert list(await asyncio.gather(slow, quick)) == ["timed out", "done"]
    cancelled = asyncio.create_task(read(5))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
