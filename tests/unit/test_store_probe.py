"""StoreProbe: /health's view of the store costs one command per interval, whoever asks."""

from __future__ import annotations

import asyncio

from tracesink.errors import StorageError
from tracesink.store_probe import PROBE_COMMANDS, PROBE_EVERY_S, StoreProbe, probe_interval_s


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_callers_share_one_probe_and_its_answer_while_fresh() -> None:
    """1,000 concurrent checks send one PING; later checks within the interval send none;
    the first check after it sends the next."""
    pings = []
    release = asyncio.Event()

    async def ping() -> None:
        pings.append(1)
        await release.wait()

    clock = Clock()
    probe = StoreProbe(ping, 10.0, lambda: True, clock)
    waiting = [asyncio.create_task(probe.check()) for _ in range(1000)]
    await asyncio.sleep(0)
    release.set()
    assert set(await asyncio.gather(*waiting)) == {None}
    assert [await probe.check() for _ in range(100)] == [None] * 100
    assert len(pings) == 1
    clock.now = 10.0
    assert await probe.check() is None
    assert len(pings) == 2


async def test_a_failure_is_reported_and_retried_sooner() -> None:
    """A failed probe is the health status (the error's name), retried after a second, not a
    whole interval, so a recovered store shows as recovered quickly."""
    down = [True]

    async def ping() -> None:
        if down[0]:
            raise StorageError("connection refused")

    clock = Clock()
    probe = StoreProbe(ping, 60.0, lambda: True, clock)
    assert await probe.check() == "StorageError"
    down[0] = False
    assert await probe.check() == "StorageError"  # still fresh
    clock.now = 1.0
    assert await probe.check() is None


async def test_no_probe_once_the_budget_is_spent() -> None:
    """With the whole budget spent, checks answer the last result and send nothing."""
    pings = []

    async def ping() -> None:
        pings.append(1)

    clock = Clock()
    allowed = [True]
    probe = StoreProbe(ping, 10.0, lambda: allowed[0], clock)
    assert await probe.check() is None
    allowed[0] = False
    clock.now = 100.0
    assert await probe.check() is None
    assert len(pings) == 1


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_probe() -> None:
    """Cancelling one waiting caller leaves the probe running for the others."""
    release = asyncio.Event()

    async def ping() -> None:
        await release.wait()

    probe = StoreProbe(ping, 10.0, lambda: True, Clock())
    first = asyncio.create_task(probe.check())
    second = asyncio.create_task(probe.check())
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second is None


def test_probes_spend_at_most_a_twentieth_of_a_small_budget() -> None:
    """Without a budget a probe per PROBE_EVERY_S; with a small one, fewer, so probes alone
    never spend more than 5 % of it."""
    assert probe_interval_s(0) == PROBE_EVERY_S
    assert probe_interval_s(10_000_000) == PROBE_EVERY_S
    assert probe_interval_s(3000) == 2304  # 38 minutes
    assert 86_400 / probe_interval_s(3000) * PROBE_COMMANDS <= 3000 * 0.05
