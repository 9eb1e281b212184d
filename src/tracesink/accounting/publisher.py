"""``CommandPublisher``: an instance's commands reach the shared daily count even if it never
writes.

A batch's script call carries the commands its instance spent since its last counted call, so a
writing instance publishes for free. One that only reads (or only answers its health probe) would
never add its commands to the count that every instance's budget guard reads (issue 21: they
rode on its next write, if any). This task publishes them (``Store.publish_commands``, three
commands in an active window) once the oldest has waited ``PUBLISH_AFTER_S`` without a write to
carry it, or at once when as many as ``threshold`` are waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from tracesink.errors import TraceSinkError
from tracesink.store.base import Usage

log = logging.getLogger("tracesink")

PUBLISH_AFTER_S = 10.0
CHECK_EVERY_S = 1.0


def publish_threshold(max_commands_per_day: int) -> int:
    """Commands waiting that are published at once: 1 % of the budget, at least 10."""
    return max(10, max_commands_per_day // 100)


class CommandPublisher:
    def __init__(
        self,
        usage: Callable[[], Usage],
        publish: Callable[[], Awaitable[None]],
        threshold: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usage = usage
        self._publish = publish
        self._threshold = threshold
        self._clock = clock
        self._waiting_since: float | None = None  # when commands started waiting uncounted
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def unpublished(self) -> int:
        usage = self._usage()
        return usage.commands - usage.shared_mark

    def due(self) -> bool:
        """Whether the commands waiting should be published now (and when they began to wait)."""
        waiting = self.unpublished()
        if waiting <= 0:
            self._waiting_since = None
            return False
        now = self._clock()
        if self._waiting_since is None:
            self._waiting_since = now
        return waiting >= self._threshold or now - self._waiting_since >= PUBLISH_AFTER_S

    async def publish_now(self) -> None:
        """Publish whatever waits (at close, too); a failure is logged once, then retried."""
        if self.unpublished() <= 0:
            return
        try:
            await self._publish()
        except (TraceSinkError, OSError) as exc:  # the store is down, or the budget is spent
            if not self._failing:
                log.warning("could not add this instance's commands to the daily count: %s", exc)
            self._failing = True
        else:
            self._failing = False
            self._waiting_since = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            if self.due():
                await self.publish_now()

    async def close(self) -> None:
        """Stop the task and publish what is left, if the store still takes it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.publish_now()
