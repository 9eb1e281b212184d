"""Waiting for something that happens on another clock (a timer, a process, a server), by polling.

A test on a loaded 2-core machine cannot know how late a timer fires: it asks again until the
condition holds or a generous deadline passes, rather than sleeping a fixed time and hoping.
The deadline only bounds a failing test; a passing one returns as soon as the condition holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Far beyond any timer the tests wait for (a few seconds at most): a loaded machine may be slow.
DEADLINE_S = 30.0
EVERY_S = 0.05


def wait_until(
    condition: Callable[[], T | None], what: str, within: float = DEADLINE_S, every: float = EVERY_S
) -> T:
    """The first truthy value of ``condition()``; AssertionError naming ``what`` (and the last
    value) if none comes within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {value!r})")
        time.sleep(every)


async def until(
    condition: Callable[[], Awaitable[T | None]],
    what: str,
    within: float = DEADLINE_S,
    every: float = EVERY_S,
) -> T:
    """``wait_until`` for a coroutine condition, sleeping on the event loop between tries."""
    deadline = time.monotonic() + within
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s (last: {value!r})")
        await asyncio.sleep(every)
