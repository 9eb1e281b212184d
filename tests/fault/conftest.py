"""The fault-injection suite's tools: real processes to kill, a load to send, and the check.

``cluster`` is one redis-server, run with ``--appendonly yes --appendfsync always`` so that what
Redis acknowledged survives its own kill -9 (Redis's durability is not what is tested here), and,
once a test starts it, one ``tracesink serve`` with a fixed port and spool directory, so that
either process can be killed and started again in place. ``Load`` sends unique entries from a
few concurrent senders and records what every request got back; ``verify`` reads every trace
list from Redis and checks that each acknowledged entry is there exactly once, in order.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis

from tests.support.redis_server import (
    RedisServer,
    free_port,
    kill_redis_server,
    redis_server_binary,
    restart_redis_server,
    start_redis_server,
)
from tests.support.service import Service, end, start_service, stop_service
from tracesink.store.keys import trace_of

REDIS_DURABLE = ("--appendonly", "yes", "--appendfsync", "always")
UNLIMITED = "1000000000"  # no entry of the load may be refused by a rate limit
ACKNOWLEDGED = (200, 202)
REQUEST_TIMEOUT_S = 10.0  # an answer this late is a hang, and fails the check
NO_ANSWER_PAUSE_S = 0.05  # a sender's pause after a refused connection: tracesink is down
DRAIN_TIMEOUT_S = 45.0
REPLAYING = re.compile(r"replaying (\d+) spooled entries left from before")

CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each test's outcome where the ``cluster`` fixture can see it when tearing down."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report


# --- the processes


class Cluster:
    """A durable redis-server and (once started) tracesink on it, each killable and restartable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.redis: RedisServer = start_redis_server(extra_args=REDIS_DURABLE)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "TRACESINK_STORE": self.redis.url,
            "TRACESINK_SPOOL_DIR": str(directory / "spool"),
            "TRACESINK_GLOBAL_LIMIT": UNLIMITED,
            "TRACESINK_TRACE_LIMIT": UNLIMITED,
            "TRACESINK_MAX_TRACE_ENTRIES": UNLIMITED,  # no trim: every entry is counted after
        }
        self.service: Service | None = None
        self.starts = 0

    # tracesink

    def start_tracesink(self, extra_env: dict[str, str] | None = None) -> None:
        """Start tracesink (again) on the same port and spool; ``extra_env`` sticks for restarts."""
        self.env.update(extra_env or {})
        self.starts += 1
        self.service = start_service(self.port, self.env, self.output_path(self.starts))

    def kill_tracesink(self) -> None:
        stop_service(self.running(), signal.SIGKILL)

    def terminate_tracesink(self, timeout: float) -> int:
        """SIGTERM; the exit status (AssertionError if it has not exited within ``timeout``)."""
        return stop_service(self.running(), signal.SIGTERM, timeout)

    def running(self) -> Service:
        assert self.service is not None, "tracesink was never started"
        return self.service

    def output_path(self, start: int) -> Path:
        return self.directory / f"tracesink-{start}.log"

    def output(self, start: int) -> str:
        """What the ``start``-th tracesink process (1 = the first) wrote to stdout and stderr."""
        path = self.output_path(start)
        return path.read_text(errors="replace") if path.exists() else ""

    def replayed_at_start(self, start: int) -> int:
        """How many spooled entries the ``start``-th process found left over and replayed."""
        found = REPLAYING.search(self.output(start))
        return int(found.group(1)) if found else 0

    def health(self) -> dict[str, Any]:
        document: dict[str, Any] = httpx.get(f"{self.url}/health", timeout=5).json()
        return document

    def wait_drained(self, timeout: float = DRAIN_TIMEOUT_S) -> float:
        """Wait until /health says ``ok`` with nothing spooled or queued; the seconds it took."""
        return wait_drained(self.url, timeout)

    # redis-server

    def kill_redis(self) -> None:
        kill_redis_server(self.redis)

    def restart_redis(self) -> None:
        """A new redis-server on the same port and directory: it reloads its append-only file."""
        self.redis = restart_redis_server(self.redis, REDIS_DURABLE)

    def stored(self) -> Stored:
        return read_stored(self.redis.url)

    def close(self) -> None:
        if self.service is not None:
            end(self.service.process)  # SIGTERM (its coverage is saved), SIGKILL if stuck
        self.redis.stop()

    def outputs(self) -> str:
        return "\n".join(
            f"--- tracesink process {n} output (last 4000 characters):\n{self.output(n)[-4000:]}"
            for n in range(1, self.starts + 1)
        )


def wait_drained(url: str, timeout: float = DRAIN_TIMEOUT_S) -> float:
    """Wait until the /health of the tracesink at ``url`` says ``ok`` with nothing spooled or
    queued; the seconds it took."""
    start = time.monotonic()
    health: dict[str, Any] = {}
    while time.monotonic() - start < timeout:
        try:
            health = httpx.get(f"{url}/health", timeout=5).json()
        except httpx.TransportError as exc:
            health = {"error": repr(exc)}
        spool = health.get("spool", {})
        if health.get("status") == "ok" and spool.get("entries") == 0 and not health["queued"]:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"not drained after {timeout}s; /health says {health}")


@pytest.fixture
def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A durable redis-server, tracesink not started yet; the processes' output on failure."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed (e.g. apt install redis-server)")
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.close()
        report = request.node.stash.get(CALL_REPORT, None)
        if report is not None and report.failed:
            print(running.outputs())


# --- what Redis holds


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: str
    message: str


@dataclass(frozen=True, slots=True)
class Stored:
    lists: dict[str, list[StoredEntry]]  # trace id -> its entries, oldest first
    markers: int  # drop markers seen (with limits this high, none are expected)

    @property
    def entries(self) -> list[StoredEntry]:
        return [entry for entries in self.lists.values() for entry in entries]


def read_stored(url: str) -> Stored:
    """Every trace list (``logs:{…}``), read with a plain client (SCAN + LRANGE), markers
    set aside."""
    client = redis.Redis.from_url(url)
    lists: dict[str, list[StoredEntry]] = {}
    markers = 0
    try:
        for key in cast(Iterator[bytes], client.scan_iter(match="logs:{*", count=1000)):
            items = cast(list[bytes], client.lrange(key, 0, -1))
            entries = lists.setdefault(trace_of("", key.decode()), [])
            for item in reversed(items):  # stored newest first
                document = json.loads(item)
                if document.get("kind") == "dropped":
                    markers += 1
                    continue
                entries.append(StoredEntry(document["id"], document["message"]))
    finally:
        client.close()
    return Stored(lists, markers)


# --- the load


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request and what it got back."""

    sender: int
    seq: int  # the sender's own count: each sends its next entry once the last one is answered
    trace_id: str
    message: str
    status: int | None  # None: no HTTP answer (connection refused or reset, timed out)
    entry_id: str | None = None  # from a 2xx answer
    queued: bool = False  # the answer said queued: true
    retry_after: str | None = None
    error: str = ""  # the transport error, when there was no answer
    answered: float = 0.0  # time.monotonic() when the answer (or the error) came

    @property
    def acknowledged(self) -> bool:
        return self.status in ACKNOWLEDGED


class Load:
    """Unique entries over ``traces`` trace ids, from ``senders`` concurrent senders."""

    def __init__(self, url: str, label: str, *, senders: int = 12, traces: int = 50) -> None:
        self.url = url
        self.label = label
        self.senders = senders
        self.trace_ids = [f"{label}-{n:02d}" for n in range(traces)]
        self.outcomes: list[Outcome] = []
        self._next_seq = [0] * senders
        self.deadline = 0.0  # time.monotonic() at which the running load stops...
        self.held = False  # ...unless held on (by run_with_faults, until its faults are done)

    async def run(
        self,
        duration_s: float,
        max_requests: int,
        *,
        until: Callable[[Outcome], bool] | None = None,
        padding: int = 0,
    ) -> list[Outcome]:
        """Send for ``duration_s`` seconds, at most ``max_requests`` requests, and stop early once
        ``until`` holds for an outcome; this run's outcomes (all runs' are in ``outcomes``)."""
        self.deadline = time.monotonic() + duration_s
        issued, stop = 0, False
        outcomes: list[Outcome] = []
        limits = httpx.Limits(max_connections=self.senders)
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=timeout) as client:

            async def sender(n: int) -> None:
                nonlocal issued, stop
                while not stop and issued < max_requests and self._going():
                    issued += 1
                    outcome = await self._send(client, n, padding)
                    outcomes.append(outcome)
                    self.outcomes.append(outcome)
                    if until is not None and until(outcome):
                        stop = True
                    if outcome.status is None:
                        await asyncio.sleep(NO_ANSWER_PAUSE_S)

            await asyncio.gather(*(sender(n) for n in range(self.senders)))
        return outcomes

    def _going(self) -> bool:
        return self.held or time.monotonic() < self.deadline

    async def _send(self, client: httpx.AsyncClient, sender: int, padding: int) -> Outcome:
        seq = self._next_seq[sender]
        self._next_seq[sender] += 1
        trace_id = self.trace_ids[(sender + seq * self.senders) % len(self.trace_ids)]
        message = f"{self.label} sender {sender} #{seq}" + "." * padding
        body = {"trace_id": trace_id, "message": message, "level": "info", "system": "manual"}
        sent = Outcome(sender, seq, trace_id, message, None)
        try:
            response = await client.post("/log", json=body)
        except httpx.TransportError as exc:
            return replace(sent, error=type(exc).__name__, answered=time.monotonic())
        answer = response.json() if response.status_code in ACKNOWLEDGED else {}
        return replace(
            sent,
            answered=time.monotonic(),
            status=response.status_code,
            entry_id=answer.get("id"),
            queued=answer.get("queued", False),
            retry_after=response.headers.get("retry-after"),
        )


Fault = tuple[float, str, Callable[[], object]]


@dataclass(frozen=True, slots=True)
class Event:
    """A fault as it happened; ``began`` and ``ended`` are time.monotonic() values."""

    what: str
    began: float
    ended: float
    load_started: float

    def __str__(self) -> str:
        return (
            f"{self.what} at {self.began - self.load_started:.1f}s "
            f"(took {self.ended - self.began:.1f}s)"
        )


class Timeline(list[Event]):
    """The faults of one run, in order."""

    def __str__(self) -> str:
        return "; ".join(map(str, self))

    def at(self, what: str) -> Event:
        [event] = [e for e in self if e.what == what]
        return event


async def run_with_faults(
    load: Load, faults: Sequence[Fault], *, then_s: float, max_requests: int
) -> Timeline:
    """Run ``load`` and meanwhile each fault, in turn, ``at`` seconds after the load starts (in a
    worker thread, since killing and starting processes blocks); the load goes on until
    ``then_s`` seconds after the last fault is done, however long the faults took (starting a
    process on a busy machine can take seconds); what happened when."""
    start = time.monotonic()
    timeline = Timeline()

    async def inject() -> None:
        try:
            for at, what, action in faults:
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                began = time.monotonic()
                await asyncio.to_thread(action)
                timeline.append(Event(what, began, time.monotonic(), start))
        finally:
            load.deadline = time.monotonic() + then_s
            load.held = False

    load.held = True
    async with asyncio.TaskGroup() as group:
        group.create_task(load.run(0.0, max_requests))
        group.create_task(inject())
    return timeline


# --- the check


@dataclass(frozen=True, slots=True)
class Summary:
    sent: int
    ok: int  # 200
    queued: int  # 202
    refused: int  # 503
    no_answer: int
    found: int  # acknowledged entries found in Redis


def verify(
    label: str,
    outcomes: Sequence[Outcome],
    stored: Stored,
    *,
    refusals_allowed: bool = False,
    in_sender_order: bool = True,
    losses_allowed: bool = False,
) -> Summary:
    """Print the counts, then check them: every acknowledged entry is stored exactly once, with
    its message and (unless not ``in_sender_order``: several workers' spools replay side by
    side, each in its own order) after the same sender's earlier acknowledged entries; nothing
    stored that was never sent, nor anything whose request was answered with a refusal (a 503
    or 4xx stores nothing: only a request that got no answer at all may have been stored
    unacknowledged);
    every answer a 200, a 202 that says queued, or (when ``refusals_allowed``) a 503 with
    Retry-After; and no request timed out (a hang). ``losses_allowed``: acknowledged entries may
    be missing (a failover without the replica wait: counted in the summary, not a failure)."""
    statuses = Counter(o.status for o in outcomes)
    errors = Counter(o.error for o in outcomes if o.status is None)
    acknowledged = {o.entry_id: o for o in outcomes if o.acknowledged}
    by_message = {o.message: o for o in outcomes}
    found = Counter(entry.id for entry in stored.entries)
    stored_messages = {entry.id: entry.message for entry in stored.entries}
    missing = [o for entry_id, o in acknowledged.items() if entry_id not in found]
    duplicates = sorted(entry_id for entry_id, n in found.items() if n > 1)
    unacknowledged = [i for i in found if i not in acknowledged]
    refused_but_stored = [
        (entry, outcome.status)
        for entry in stored.entries
        if (outcome := by_message.get(entry.message)) is not None
        and outcome.status is not None
        and not outcome.acknowledged
    ]
    print(
        f"{label}: sent {len(outcomes)}, acknowledged {len(acknowledged)} "
        f"(200: {statuses[200]}, 202: {statuses[202]}), refused {statuses[503]}, "
        f"no answer {sum(errors.values())}{f' {dict(errors)}' if errors else ''}; "
        f"found {len(acknowledged) - len(missing)} of the acknowledged "
        f"(+{len(unacknowledged)} stored unacknowledged, {len(refused_but_stored)} of them "
        f"refused), missing {len(missing)}, "
        f"duplicates {len(duplicates)}, drop markers {stored.markers}"
    )

    unexpected = [
        o
        for o in outcomes
        if o.status is not None
        and o.status not in ACKNOWLEDGED
        and not (refusals_allowed and o.status == 503 and o.retry_after)
    ]
    assert not unexpected, f"unexpected answers: {Counter(o.status for o in unexpected)}"
    assert not [o for o in outcomes if o.status == 202 and not o.queued], "a 202 not queued"
    assert not [o for o in outcomes if o.status == 200 and o.queued], "a 200 said queued"
    assert not errors.get("ReadTimeout"), f"{errors['ReadTimeout']} requests hung for 10s"
    assert len(acknowledged) == statuses[200] + statuses[202], "two answers gave the same id"
    if not losses_allowed:
        assert not missing, f"{len(missing)} acknowledged entries lost, e.g. {missing[:5]}"
    assert not duplicates, f"{len(duplicates)} entries stored twice, e.g. {duplicates[:5]}"
    wrong = [
        i
        for i, o in acknowledged.items()
        if i in stored_messages and stored_messages[i or ""] != o.message
    ]
    assert not wrong, f"entries stored with another message: {wrong[:5]}"
    strangers = [e for e in stored.entries if e.message not in by_message]
    assert not strangers, f"entries stored that were never sent: {strangers[:5]}"
    assert not refused_but_stored, (
        f"{len(refused_but_stored)} entries stored although their request was refused "
        f"(statuses {dict(Counter(status for _, status in refused_but_stored))}), "
        f"e.g. {[(e.id, e.message[:40], status) for e, status in refused_but_stored[:3]]}"
    )
    assert not stored.markers, "drop markers: the limits refused entries they should not have"
    disorder = _out_of_order(stored, by_message) if in_sender_order else []
    assert not disorder, f"acknowledged entries stored out of their sender's order: {disorder[:5]}"
    return Summary(
        sent=len(outcomes),
        ok=statuses[200],
        queued=statuses[202],
        refused=statuses[503],
        no_answer=sum(errors.values()),
        found=len(acknowledged) - len(missing),
    )


def _out_of_order(stored: Stored, by_message: dict[str, Outcome]) -> list[str]:
    """A sender sends an entry only once its previous one was answered, so in each trace list
    its acknowledged entries must appear in the order it sent them."""
    wrong: list[str] = []
    for trace_id, entries in stored.lists.items():
        last_seq: dict[int, int] = {}
        for entry in entries:
            outcome = by_message.get(entry.message)
            if outcome is None or not outcome.acknowledged:
                continue
            if outcome.seq <= last_seq.get(outcome.sender, -1):
                wrong.append(f"{trace_id}: {entry.message!r}")
            last_seq[outcome.sender] = outcome.seq
    return wrong
