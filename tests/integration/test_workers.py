"""`tracesink serve --workers 2` on a real redis-server, over real HTTP: the two processes keep
the limits exactly (the entries answered 200 are, by id, the ones stored), count as one instance
in /metrics and /stats, carry their counts over a worker's restart, feed one live stream, and
refuse what would split them (a memory:// store, a spool they cannot open)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.integration.test_instances import check_identities, hammer, stored_ids
from tests.support.live import reading
from tests.support.poll import wait_until
from tests.support.processes import children, running
from tests.support.redis_server import RedisServer, free_port, redis_server_binary
from tests.support.service import Service, end, start_service, tracesink
from tracesink.model import PreparedEntry
from tracesink.store.spool import Spool

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(redis_server_binary() is None, reason="redis-server is not installed"),
]

GLOBAL_LIMIT = 300
TRACE_LIMIT = 40


@pytest.fixture
def two_workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Service]:
    """Two workers on one port; their published counters land in ``tmp_path`` (TMPDIR); what
    the instance wrote is printed (shown when the test fails)."""
    redis.Redis.from_url(redis_server.url).flushall()
    env = {
        "TRACESINK_STORE": redis_server.url,
        "TRACESINK_GLOBAL_LIMIT": str(GLOBAL_LIMIT),
        "TRACESINK_TRACE_LIMIT": str(TRACE_LIMIT),
        "TRACESINK_WORKERS": "2",
        "TRACESINK_SPOOL_DIR": str(tmp_path / "spool"),
        "TMPDIR": str(tmp_path),
    }
    output = tmp_path / "tracesink.log"
    service = start_service(free_port(), env, output)
    try:
        yield service
    finally:
        end(service.process)
        print(f"--- the instance's output:\n{output.read_text()[-4000:]}")


def per_worker(tmp_path: Path) -> dict[str, int]:
    """Entries each worker says it accepted, from the counters it publishes."""
    return {
        path.stem: sum(json.loads(path.read_text())["accepted"].values())
        for path in tmp_path.glob("tracesink-workers-*/worker-*.json")
    }


def metric(service: Service, name: str) -> float:
    """A counter of /metrics, summed over its labels."""
    text = httpx.get(f"{service.url}/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def test_two_workers_keep_the_limits_exactly_and_count_as_one_instance(
    two_workers: Service, redis_server: RedisServer, tmp_path: Path
) -> None:
    """200 concurrent entries for one trace, then 600 over 600 traces, from 32 connections that
    the two workers share: exactly 40 then 260 are answered 200 (the trace limit, then what the
    global limit of 300 leaves), the 300 stored are those 300 by id, each once; both workers
    took part; and /metrics and /stats, whichever worker answers, count all 300 accepted and all
    500 refused."""
    one_trace = asyncio.run(hammer((two_workers, two_workers), ["shared"] * 200))
    many = asyncio.run(hammer((two_workers, two_workers), [f"t{i}" for i in range(600)]))
    statuses = [a.status for a in one_trace], [a.status for a in many]
    assert statuses[0].count(200) == TRACE_LIMIT
    assert statuses[1].count(200) == GLOBAL_LIMIT - TRACE_LIMIT
    assert statuses[0].count(429) + statuses[1].count(429) == 800 - GLOBAL_LIMIT
    check_identities(one_trace + many, stored_ids(redis_server.url))

    wait_until(
        lambda: metric(two_workers, "tracesink_entries_refused_total") == 800 - GLOBAL_LIMIT,
        "every refusal published",
    )
    split = per_worker(tmp_path)
    print(f"entries accepted per worker: {split}")
    assert len(split) == 2
    assert all(n > 0 for n in split.values()), f"one worker took every connection: {split}"
    for _ in range(4):  # whichever worker answers
        assert metric(two_workers, "tracesink_entries_accepted_total") == GLOBAL_LIMIT
        assert metric(two_workers, "tracesink_entries_refused_total") == 800 - GLOBAL_LIMIT
        stats = httpx.get(f"{two_workers.url}/stats", timeout=5).json()
        assert stats["entries"]["accepted"] == {"manual": GLOBAL_LIMIT}
        assert stats["entries"]["refused"] == {"manual": {"global": 340, "trace": 160}}
        assert stats["usage"]["commands"] > 0


def test_a_killed_worker_is_restarted_and_the_counters_never_go_down(
    two_workers: Service, tmp_path: Path
) -> None:
    """30 entries, counted and published; the busier worker is SIGKILLed: the supervisor says so
    on stderr and starts another, /metrics never shows fewer than 30 accepted meanwhile (the new
    worker starts from what its predecessor published), and 10 more make 40."""
    for i in range(30):
        assert httpx.post(f"{two_workers.url}/log", json={"trace_id": f"k{i}", "message": "m"})
    wait_until(lambda: sum(per_worker(tmp_path).values()) == 30, "the 30 published")
    time.sleep(1.2)  # one more publication: nothing counted is left unpublished
    workers = children(two_workers.process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen.append(metric(two_workers, "tracesink_entries_accepted_total"))
        now = [pid for pid in children(two_workers.process.pid) if running(pid)]
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the killed worker was not replaced")
    assert min(seen) == 30, f"the accepted count went down during the restart: {sorted(set(seen))}"
    for i in range(10):
        httpx.post(f"{two_workers.url}/log", json={"trace_id": f"after{i}", "message": "m"})
    wait_until(lambda: metric(two_workers, "tracesink_entries_accepted_total") == 40, "40 counted")
    said = (tmp_path / "tracesink.log").read_text()
    assert f"worker 0 (pid {workers[0]}) was killed by SIGKILL; starting it again" in said


def test_a_live_stream_shows_what_every_worker_stores(two_workers: Service, tmp_path: Path) -> None:
    """A live stream served by one worker shows, once each, 12 entries POSTed on 12 fresh
    connections (spread over both workers by the kernel): the other worker's by the poll."""
    with reading(f"{two_workers.url}/logs/live-w/live") as stream:
        stream.until_ready()
        posted = set()
        for i in range(12):
            with httpx.Client() as client:  # a connection of its own: either worker
                answer = client.post(
                    f"{two_workers.url}/log", json={"trace_id": "live-w", "message": f"m{i}"}
                )
                posted.add(answer.json()["id"])
        streamed = {stream.next_entry()["id"] for _ in range(12)}
        assert streamed == posted
        assert stream.nothing_more(1.5)
    wait_until(lambda: sum(per_worker(tmp_path).values()) == 12, "the 12 published")
    assert all(per_worker(tmp_path).values()), "one worker stored all 12: nothing was polled"


def test_memory_store_with_two_workers_is_refused() -> None:
    """`serve --workers 2` on the default memory:// store exits 2 at once, saying why (each
    worker would have a store of its own) and what to use instead."""
    process = tracesink("serve", "--port", str(free_port()), "--workers", "2")
    out, err = process.communicate(timeout=15)
    assert process.returncode == 2
    assert "listening on" not in out
    assert "--workers=2 with TRACESINK_STORE=memory://" in err
    assert "limits, the reads and the live streams would split" in err
    assert "redis://" in err


def test_a_worker_that_cannot_start_stops_the_instance(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Worker 1's spool holds entries for another store: worker 1 refuses to start, and rather
    than start it again and again the instance stops (status 1), saying which worker and why."""
    spool_dir = tmp_path / "spool"

    async def leave_a_foreign_spool() -> None:
        spool = Spool(spool_dir / "worker-1", 1 << 20, owner="redis://elsewhere:6379/0")
        await spool.open()
        entry = PreparedEntry("0" * 28, "elsewhere", "manual", b'{"message":"kept"}')
        await spool.append("b1", 0, [entry])
        await spool.close()

    asyncio.run(leave_a_foreign_spool())
    env = {
        "TRACESINK_STORE": redis_server.url,
        "TRACESINK_WORKERS": "2",
        "TRACESINK_SPOOL_DIR": str(spool_dir),
    }
    process = tracesink("serve", "--port", str(free_port()), env=env)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        end(process)
    assert process.returncode == 1
    assert "worker 1 (pid" in err
    assert "could not start; stopping the instance" in err
    assert "redis://elsewhere:6379/0" in err
