"""The ingest pipeline: every route's one way in (budget, writer, accounting, outages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import FakeClock
from tracesink.config import Settings
from tracesink.errors import Overloaded, StorageError
from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.pipeline import IngestPipeline, policy_from
from tracesink.store import open_store
from tracesink.store.memory import MemoryStore


def _policy() -> Policy:
    return policy_from(Settings())


def entry(i: int = 0, system: str = "browser") -> PreparedEntry:
    return PreparedEntry(f"id{i}", "t", system, b'{"m": 1}')


class DownStore(MemoryStore):
    """A store that cannot be reached."""

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        raise StorageError("unreachable")


async def test_submit_stores_and_says_when_it_decided(clock: FakeClock) -> None:
    """Entries are decided at the writer's clock, counted as accepted, and readable."""
    pipeline = await IngestPipeline.open(Settings(), clock=clock)
    submitted = await pipeline.submit([entry(1), entry(2)])
    assert [d.admitted for d in submitted.decisions] == [True, True]
    assert submitted.decided_ms == int(clock() * 1000)
    assert pipeline.telemetry.accepted == {"browser": 2}
    record = await pipeline.store.read_trace("t", pipeline.now_ms())
    assert record is not None
    assert len(record.items) == 2
    await pipeline.close()


async def test_a_spent_budget_refuses_everything_without_touching_the_store(
    clock: FakeClock,
) -> None:
    """Past the daily budget every entry is refused 'budget' until midnight UTC; nothing is
    written."""
    store = MemoryStore("memory://", _policy())
    pipeline = await IngestPipeline.open(Settings(max_commands_per_day=1), store, clock)
    store.usage.commands = 5  # spent elsewhere today
    pipeline.budget.used_today(pipeline.now_ms())  # the day starts counting here
    store.usage.commands = 10
    submitted = await pipeline.submit([entry()])
    [decision] = submitted.decisions
    assert decision.limited_by == "budget"
    assert decision.retry_after_ms == 14 * 3600 * 1000  # START is 10:00 UTC
    assert await store.read_trace("t", pipeline.now_ms()) is None
    assert pipeline.telemetry.refused == {("browser", "budget"): 1}
    await pipeline.close()


async def test_an_unreachable_store_without_a_spool_raises_and_counts(clock: FakeClock) -> None:
    pipeline = await IngestPipeline.open(Settings(), DownStore("memory://", _policy()), clock)
    with pytest.raises(StorageError):
        await pipeline.submit([entry()])
    assert pipeline.telemetry.refused == {("browser", "store_unavailable"): 1}
    await pipeline.close()


async def test_a_full_queue_raises_overloaded_and_counts(clock: FakeClock) -> None:
    pipeline = await IngestPipeline.open(Settings(max_queue=2), clock=clock)
    with pytest.raises(Overloaded):
        await pipeline.submit([entry(i) for i in range(3)])
    assert pipeline.telemetry.refused == {("browser", "overloaded"): 3}
    await pipeline.close()


async def test_an_outage_with_a_spool_queues_and_status_shows_it(
    clock: FakeClock, tmp_path: Path
) -> None:
    """With a spool, an outage answers queued decisions and the status shows the spool."""
    settings = replace(Settings(), store="redis://db:6379/0", spool_dir=str(tmp_path))
    pipeline = await IngestPipeline.open(settings, DownStore("memory://", _policy()), clock)
    submitted = await pipeline.submit([entry()])
    assert submitted.decisions[0].queued
    status = pipeline.status()
    assert status.spool is not None
    assert status.spool.entries == 1
    assert status.store == "memory://"
    assert pipeline.telemetry.queued == {"browser": 1}
    await pipeline.close()


async def test_invalid_entries_of_an_unknown_system_count_as_manual(clock: FakeClock) -> None:
    pipeline = await IngestPipeline.open(Settings(), clock=clock)
    pipeline.refuse_invalid("browser")
    pipeline.refuse_invalid("ruby", 2)
    assert pipeline.telemetry.refused == {("browser", "invalid"): 1, ("manual", "invalid"): 2}
    await pipeline.close()


@pytest.mark.parametrize(
    ("store_url", "watches"),
    [
        ("memory://", False),
        ("redis://127.0.0.1:1/0", True),
        ("upstash+http://:t@127.0.0.1:1", True),
    ],
)
async def test_live_streams_poll_the_store_only_when_the_store_says_it_is_shared(
    clock: FakeClock, store_url: str, watches: bool
) -> None:
    """Whether other instances' entries are polled for is the store's answer (Store.shared),
    not its URL's text: a memory store handed in under a Redis URL is not polled."""
    settings = Settings(store="redis://127.0.0.1:1/0", spool_dir="off")
    store = open_store(store_url, _policy(), "TRACESINK_STORE")
    assert store.shared is watches
    pipeline = IngestPipeline(settings, store, None, clock)
    assert (pipeline.watcher is not None) is watches
    await pipeline.close()
