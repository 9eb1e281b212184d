"""The head deadlines' sweeper judges no connection right after the event loop stalled: a head
that arrived during the stall may still be unread then, and an honest client would be cut as
silent. (Before a close, a head still unread in the kernel is looked for: test_idle_close.py.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from tracesink.server.protocol import LATE_SWEEP_S, SWEEP_EVERY_S, HeadDeadlines


class Connection:
    """Stands in for a protocol: records when its head was judged overdue."""

    def __init__(self) -> None:
        self.overdue_at: list[float] = []
        self.judged = asyncio.Event()

    def head_overdue(self, loop: asyncio.AbstractEventLoop) -> None:
        self.overdue_at.append(loop.time())
        self.judged.set()


async def test_a_late_sweep_closes_nothing_and_the_next_one_does() -> None:
    """With a deadline already passed, a sweep that runs more than LATE_SWEEP_S late (the loop
    was blocked) leaves the connection alone; the following, punctual sweep judges it."""
    loop = asyncio.get_running_loop()
    deadlines = HeadDeadlines(timeout_s=0.01)
    connection = Connection()
    deadlines.arm(cast(Any, connection), loop)
    # The whole loop stalls past the deadline, as a long callback would make it.
    time.sleep(LATE_SWEEP_S + SWEEP_EVERY_S + 0.2)  # noqa: ASYNC251  # the stall is the point
    stalled_until = loop.time()
    await asyncio.sleep(0)  # the late sweep runs here
    assert connection.overdue_at == []
    await asyncio.wait_for(connection.judged.wait(), timeout=10)
    assert len(connection.overdue_at) == 1
    assert connection.overdue_at[0] >= stalled_until + SWEEP_EVERY_S * 0.9


async def test_a_punctual_sweep_judges_an_overdue_head() -> None:
    """Without a stall the deadline holds as before: the head is judged within a few sweeps."""
    loop = asyncio.get_running_loop()
    deadlines = HeadDeadlines(timeout_s=0.01)
    connection = Connection()
    deadlines.arm(cast(Any, connection), loop)
    await asyncio.wait_for(connection.judged.wait(), timeout=10)
    assert len(connection.overdue_at) == 1
