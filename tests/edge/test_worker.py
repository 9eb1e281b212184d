"""The edge Worker in workerd, as a user runs it (``npm --prefix edge run serve``), on a real
redis-server behind the project's Upstash REST emulator (not Upstash): what it writes reads back
through the Python service and its CLI, its limits (and daily budget) are the Python service's on
the same counters, refusals cost no command, and a store that forgot the script, a store that is
down and a bad setting each get the answer the Python service gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.edge.conftest import fresh_prefix
from tests.support.edge_worker import EDGE, running_worker
from tests.support.redis_server import RedisServer, free_port
from tests.support.service import serving
from tracesink.dev.rest_emulator import UpstashRestServer
from tracesink.edge_script import template_literal
from tracesink.store.keys import key_pattern, trace_key
from tracesink.store.scripts import WRITE_BATCH

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("node_ready")]


def entry(trace_id: str, message: str, **fields: object) -> dict[str, object]:
    return {"trace_id": trace_id, "message": message, **fields}


def test_entries_read_back_through_the_python_service_and_its_cli(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """A trace written at the edge is a trace like any other: GET /logs/{id}, /traces, the CLI."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("read")}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": redis_server.url}) as python,
    ):
        sent = httpx.post(
            f"{worker.url}/logs",
            json=[
                entry("edge-read", "clicked pay", system="browser", level="info"),
                entry(
                    "edge-read",
                    "card declined",
                    system="worker",
                    level="error",
                    context={"card": "visa"},
                ),
            ],
        )
        assert sent.status_code == 200, sent.text
        trace = httpx.get(f"{python.url}/logs/edge-read").json()
        assert [(e["system"], e["level"], e["message"]) for e in trace["entries"]] == [
            ("browser", "info", "clicked pay"),
            ("worker", "error", "card declined"),
        ]
        assert [e["id"] for e in trace["entries"]] == sent.json()["ids"]
        assert trace["expires_at"] is not None
        listed = httpx.get(f"{python.url}/traces").json()
        assert [t["trace_id"] for t in listed["traces"]] == ["edge-read"]
        cli = subprocess.run(
            [sys.executable, "-m", "tracesink", "logs", "edge-read", "--url", python.url],
            capture_output=True,
            text=True,
            check=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")},
        )
        assert "clicked pay" in cli.stdout
        assert "card declined" in cli.stdout
        assert '"card":"visa"' in cli.stdout


def test_edge_and_python_share_one_set_of_limits(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """Two ingesters on one database enforce one limit: what one admitted, the other counts."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("shared"), "TRACESINK_TRACE_LIMIT": "4"}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": upstash_server.store_url}) as python,
    ):
        for url in (python.url, worker.url, python.url, worker.url):
            assert httpx.post(f"{url}/log", json=entry("shared", "x")).status_code == 200
        for url in (worker.url, python.url):
            refused = httpx.post(f"{url}/log", json=entry("shared", "x"))
            assert refused.status_code == 429
            assert refused.json()["limited_by"] == "trace"
        assert httpx.get(f"{python.url}/logs/shared").json()["total"] == 4


def test_refusals_cost_no_command_and_are_marked_within_seconds(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """Once the isolate has heard that a trace is full, refusing it sends nothing to the store;
    the refusals are then written as one marker, after the responses, by ctx.waitUntil."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("refuse"), "TRACESINK_TRACE_LIMIT": "1"}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": redis_server.url}) as reader,
        httpx.Client(base_url=worker.url) as client,
    ):
        assert client.post("/log", json=entry("full", "kept")).status_code == 200
        by_script = client.post("/log", json=entry("full", "refused by the script"))
        assert (by_script.status_code, by_script.json()["limited_by"]) == (429, "trace")
        before = upstash_server.commands_received
        for _ in range(20):
            here = client.post("/log", json=entry("full", "refused here"))
            assert (here.status_code, here.json()["limited_by"]) == (429, "trace")
        assert upstash_server.commands_received == before
        deadline = time.monotonic() + 6
        while True:
            trace = httpx.get(f"{reader.url}/logs/full").json()
            if trace["dropped"]["trace"] == 21 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert trace["dropped"]["trace"] == 21
        assert [e.get("kind") for e in trace["entries"]] == [None, "dropped"]
        assert upstash_server.commands_received == before + 1  # one script call wrote all 20


def test_a_database_that_forgot_the_script_gets_it_again(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """After a SCRIPT FLUSH the Worker loads the script again, and what it loads is the Python
    stores' script, byte for byte: the SHA-1 the Python stores' EVALSHA names exists then."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("noscript")}
    client = redis.Redis.from_url(redis_server.url)
    with running_worker(upstash_server.url, upstash_server.token, env) as worker:
        assert httpx.post(f"{worker.url}/log", json=entry("n", "before")).status_code == 200
        client.script_flush()
        assert client.script_exists(WRITE_BATCH.sha) == [False]
        assert httpx.post(f"{worker.url}/log", json=entry("n", "after")).status_code == 200
        key = trace_key(env["TRACESINK_KEY_PREFIX"], "n")
        assert client.llen(key) == 2
        assert client.script_exists(WRITE_BATCH.sha) == [True]


def test_an_unreachable_store_is_a_503_with_retry_after() -> None:
    with running_worker(f"http://127.0.0.1:{free_port()}", "token", {}) as worker:
        answer = httpx.post(f"{worker.url}/log", json=entry("down", "x"))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json() == {"success": False, "error": "the store is unavailable; retry later"}


def test_a_bad_setting_is_named_in_every_answer(upstash_server: UpstashRestServer) -> None:
    env = {"TRACESINK_TRACE_LIMIT": "lots"}
    with running_worker(upstash_server.url, upstash_server.token, env) as worker:
        answer = httpx.post(f"{worker.url}/log", json=entry("t", "x"))
    assert answer.status_code == 500
    assert answer.json()["field"] == "configuration"
    assert answer.json()["error"] == (
        "TRACESINK_TRACE_LIMIT='lots' is not valid: expected a whole number"
    )


def test_every_key_carries_the_prefix(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    prefix = fresh_prefix("prefix")
    with running_worker(
        upstash_server.url, upstash_server.token, {"TRACESINK_KEY_PREFIX": prefix}
    ) as worker:
        assert httpx.post(f"{worker.url}/log", json=entry("p", "x")).status_code == 200
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    keys = sorted(str(k) for k in client.keys(f"{prefix}*"))
    assert trace_key(prefix, "p") in keys
    assert all(key_pattern(prefix).fullmatch(k) for k in keys), keys


def test_wrangler_bundles_the_python_stores_script_text(tmp_path: Path) -> None:
    """What `wrangler deploy` uploads holds the text the Python stores send (write_batch.lua with
    its fragments written in) byte for byte: one source of truth."""
    out = tmp_path / "bundle"
    subprocess.run(
        [
            "npx",
            "--no-install",
            "wrangler",
            "deploy",
            "--dry-run",
            "--env",
            "production",
            "--outdir",
            str(out),
        ],
        cwd=EDGE,
        check=True,
        capture_output=True,
        timeout=120,
        # Offline: no banner (its update check asks the npm registry), no metrics.
        env={**os.environ, "WRANGLER_HIDE_BANNER": "true", "WRANGLER_SEND_METRICS": "false"},
    )
    assert template_literal(WRITE_BATCH.text) in (out / "index.js").read_text("utf-8")


def test_the_daily_budget_is_one_count_for_edge_and_python(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """TRACESINK_MAX_COMMANDS_PER_DAY counts every ingester's commands on the database in one
    shared count: once the Worker has spent it, the Worker refuses, and a Python service on the
    same database refuses too as soon as one script call has told it the count."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("budget"), "TRACESINK_MAX_COMMANDS_PER_DAY": "20"}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": upstash_server.store_url}) as python,
    ):
        answers = [httpx.post(f"{worker.url}/log", json=entry(f"b{i}", "x")) for i in range(8)]
        statuses = [a.status_code for a in answers]
        assert 200 in statuses
        assert 429 in statuses
        refused = answers[statuses.index(429)]
        assert statuses[statuses.index(429) :] == [429] * (len(statuses) - statuses.index(429))
        assert refused.json()["limited_by"] == "budget"
        assert refused.json()["error"] == (
            "the daily store budget is spent (TRACESINK_MAX_COMMANDS_PER_DAY=20); "
            "ingest resumes at 00:00 UTC"
        )
        assert int(refused.headers["retry-after"]) <= 86_400
        before = upstash_server.commands_received
        spent = httpx.post(f"{worker.url}/log", json=entry("b9", "x"))
        assert (spent.status_code, spent.json()["limited_by"]) == (429, "budget")
        assert upstash_server.commands_received == before  # a spent budget costs nothing more
        from_python = [httpx.post(f"{python.url}/log", json=entry("p", "x")) for _ in range(2)]
        assert from_python[-1].status_code == 429
        assert from_python[-1].json()["limited_by"] == "budget"


def test_the_worst_refusal_batch_costs_a_constant_at_the_edge(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """Issue 21, item 4 at the edge (the same script): with the browser share full, a batch of
    one admissible entry and 999 browser entries of new trace ids costs 7 commands in all,
    counted by Redis (INFO commandstats), and creates no key for a refused trace."""
    prefix = fresh_prefix("worst")
    env = {"TRACESINK_KEY_PREFIX": prefix, "TRACESINK_TRACE_LIMIT": "1000"}
    plain = redis.Redis.from_url(redis_server.url)
    with running_worker(upstash_server.url, upstash_server.token, env) as worker:
        fill = [entry("fill", "x", system="browser") for _ in range(400)]
        assert httpx.post(f"{worker.url}/logs", json=fill).json()["accepted"] == 400
        worst = [entry("ok", "x")] + [entry(f"new-{i}", "x", system="browser") for i in range(999)]
        plain.config_resetstat()
        answer = httpx.post(f"{worker.url}/logs", json=worst, timeout=30).json()
        stats: dict[str, dict[str, int]] = plain.info("commandstats")
    assert answer["accepted"] == 1
    ours = {"cmdstat_info", "cmdstat_config|resetstat"}
    calls = {k: v["calls"] for k, v in stats.items() if k not in ours}
    assert sum(calls.values()) <= 7, calls
    assert plain.keys(f"{prefix}logs:{{new-*") == []


def test_a_trace_written_at_the_edge_is_capped_and_read_as_such(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """TRACESINK_MAX_TRACE_ENTRIES holds at the edge: past it the oldest go, and the Python
    service reads the trimmed marker and its count."""
    env = {"TRACESINK_KEY_PREFIX": fresh_prefix("cap"), "TRACESINK_MAX_TRACE_ENTRIES": "5"}
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": redis_server.url}) as python,
    ):
        for i in range(8):
            assert httpx.post(f"{worker.url}/log", json=entry("c", f"m{i}")).status_code == 200
        trace = httpx.get(f"{python.url}/logs/c").json()
    assert trace["trimmed"] == 4
    assert [e.get("message") for e in trace["entries"][1:]] == ["m4", "m5", "m6", "m7"]


def test_the_worker_stops_at_ingests_share_leaving_the_reads_reserve(
    redis_server: RedisServer, upstash_server: UpstashRestServer
) -> None:
    """With TRACESINK_READ_RESERVE=50 the Worker refuses ingest once the shared count reaches
    half of TRACESINK_MAX_COMMANDS_PER_DAY, as the Python service does, not at all of it; a
    Python instance on the same database still reads what was stored, on the reserve, until the
    whole budget is spent, and then answers 429 naming the budget."""
    from tracesink.store.keys import counters_key

    prefix = fresh_prefix("reserve")
    env = {
        "TRACESINK_KEY_PREFIX": prefix,
        "TRACESINK_MAX_COMMANDS_PER_DAY": "60",
        "TRACESINK_READ_RESERVE": "50",
    }
    with (
        running_worker(upstash_server.url, upstash_server.token, env) as worker,
        serving({**env, "TRACESINK_STORE": upstash_server.store_url}) as python,
    ):
        statuses = []
        for i in range(30):
            statuses.append(httpx.post(f"{worker.url}/log", json=entry("r", f"m{i}")).status_code)
            if statuses[-1] == 429:
                break
        assert statuses[0] == 200
        assert statuses[-1] == 429
        now_ms = int(time.time() * 1000)
        count = redis.Redis.from_url(redis_server.url).hget(
            counters_key(prefix, now_ms // 3_600_000), f"c:{now_ms // 86_400_000}"
        )
        assert count is not None
        assert 30 <= int(count) < 60, f"the Worker stopped at {int(count)} of 60 commands"
        reads = []
        for _ in range(100):
            read = httpx.get(f"{python.url}/logs/r")
            reads.append(read.status_code)
            if read.status_code != 200:
                break
        assert reads[0] == 200
        assert reads[-1] == 429
        assert "TRACESINK_MAX_COMMANDS_PER_DAY" in read.json()["error"]
