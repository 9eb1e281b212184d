"""Body-read deadlines: one sweeper cuts reads that outlive the timeout, and only those."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.poll import until
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
    guard = BodyDeadlines(5.0)
    with guard.guard():
        await asyncio.sleep(0.02)

    async def sweeper_gone() -> bool:
        return guard._sweeper is None

    await until(sweeper_gone, "the sweeper stopped")


async def test_only_the_overdue_read_is_cut() -> None:
    """Reads that started later keep their own allowance; an outside cancel is not a timeout.

    The quick read ends 0.2 s into its 2 s allowance (a loaded machine may run its wake-up late,
    but not by most of 2 s); the slow one would run 30 s and is cut at 2 s."""
    guard = BodyDeadlines(2.0)

    async def read(seconds: float) -> str:
        try:
            with guard.guard():
                await asyncio.sleep(seconds)
        except TimeoutError:
            return "timed out"
        return "done"

    slow = asyncio.create_task(read(30))
    await asyncio.sleep(0.1)
    quick = asyncio.create_task(read(0.1))
    assert list(await asyncio.gather(slow, quick)) == ["timed out", "done"]
    cancelled = asyncio.create_task(read(30))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
