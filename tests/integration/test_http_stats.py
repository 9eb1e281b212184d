"""/stats, /metrics and the budget guard: what was accepted and refused, what the store spent
(checked against Redis's own count), what that costs, and ingest refused past the budget."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import AppClient, FakeClock
from tests.support.redis_server import RedisServer
from tests.support.refusal import assert_refused
from tracesink.app import create_app
from tracesink.config import Settings
from tracesink.dev.rest_emulator import start_upstash_rest_server

MakeApp = Callable[..., Any]
TOKEN = "stats-token-0123456789"  # noqa: S105 - a test credential
BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}


def metric_values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_stats_count_accepted_and_refused_by_system_and_reason(make_app: MakeApp) -> None:
    """Each outcome is counted under its system and reason."""
    sink: AppClient = await make_app(trace_limit=2)
    for _ in range(3):
        await sink.http.post("/log", json={"trace_id": "b", "message": "m"}, headers=BROWSER)
    await sink.log(trace_id="w", system="worker")
    await sink.http.post("/log", json={"trace_id": "bad id", "message": "m"}, headers=BROWSER)
    stats = (await sink.http.get("/stats")).json()
    assert stats["entries"] == {
        "accepted": {"browser": 2, "worker": 1},
        "queued": {},
        "refused": {"browser": {"invalid": 1, "trace": 1}},
    }
    assert stats["usage"]["commands"] == 0  # the memory store sends none
    assert stats["usage"]["bytes_stored"] > 0
    assert stats["budget"]["max_commands_per_day"] is None


async def test_stats_and_metrics_need_the_read_token(make_app: MakeApp) -> None:
    """Like every read, /stats and /metrics need the bearer token when one is set."""
    sink: AppClient = await make_app(read_token=TOKEN)
    for path in ("/stats", "/metrics"):
        refused = await sink.http.get(path)
        assert_refused(refused, 401, "Authorization", "Bearer <TRACESINK_READ_TOKEN>")
        response = await sink.http.get(path, headers={"authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert TOKEN not in response.text


async def test_metrics_in_prometheus_text_format(make_app: MakeApp) -> None:
    """/metrics parses as Prometheus text and carries the same counts as /stats."""
    sink: AppClient = await make_app(trace_limit=1)
    await sink.log(trace_id="a", system="convex")
    await sink.log(trace_id="a", system="convex")
    response = await sink.http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    values = metric_values(response.text)
    assert values["tracesink_entries_accepted_total", (("system", "convex"),)] == 1
    refused = ("tracesink_entries_refused_total", (("reason", "trace"), ("system", "convex")))
    assert values[refused] == 1
    assert values["tracesink_batch_size_count", ()] == 2
    assert values["tracesink_batch_size_bucket", (("le", "1"),)] == 2
    assert values["tracesink_flush_seconds_count", ()] == 2
    assert values["tracesink_queue_depth", ()] == 0
    assert values["tracesink_store_errors_total", ()] == 0


@pytest.fixture
async def on_redis(
    redis_server: RedisServer, clock: FakeClock
) -> AsyncIterator[Callable[..., Any]]:
    """``await on_redis(**settings)`` → (an httpx client on an app over the real Redis, a plain
    Redis client on the same, emptied, server with its command statistics reset)."""
    plain = redis.Redis.from_url(redis_server.url)
    plain.flushall()
    plain.config_resetstat()
    apps = []

    async def make(**overrides: Any) -> tuple[httpx.AsyncClient, redis.Redis]:
        settings = replace(Settings(), store=redis_server.url, spool_dir="off", **overrides)
        app = create_app(settings, clock=clock)
        await app.startup()
        apps.append(app)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        )
        return client, plain

    yield make
    for app in apps:
        await app.shutdown()


# The test's own commands, and the connection handshake (one HELLO per pooled connection), which
# tracesink does not count (see docs/cost.md).
NOT_COUNTED = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_hello"}


def redis_commands(plain: redis.Redis) -> int:
    """Commands Redis itself counted, less the ones tracesink does not count."""
    stats: dict[str, dict[str, int]] = plain.info("commandstats")
    return sum(s["calls"] for name, s in stats.items() if name not in NOT_COUNTED)


@pytest.mark.redis
async def test_reported_commands_equal_what_redis_counted(on_redis: Callable[..., Any]) -> None:
    """A known workload on Redis: /stats and /metrics report exactly the commands Redis ran."""
    http, plain = await on_redis()
    for i in range(30):
        assert (await http.post("/log", json={"trace_id": f"t{i % 7}", "message": "m"})).is_success
    items = [{"trace_id": "batch", "message": str(i)} for i in range(20)]
    assert (await http.post("/logs", json=items)).is_success
    await http.get("/logs/batch")
    counted = redis_commands(plain)
    stats = (await http.get("/stats")).json()
    metrics = metric_values((await http.get("/metrics")).text)
    print(
        f"commands: redis counted {counted}, /stats {stats['usage']['commands']}, "
        f"/metrics {metrics['tracesink_store_commands_total', ()]}"
    )
    assert stats["usage"]["commands"] == counted
    assert metrics["tracesink_store_commands_total", ()] == counted
    assert stats["usage"]["commands_per_stored_entry"] == round(counted / 50, 3)
    cost = stats["monthly_cost_estimate"]
    assert cost["commands"] > 0
    assert cost["total_usd"] == pytest.approx(cost["commands_usd"] + cost["storage_usd"], abs=1e-3)


@pytest.mark.redis
async def test_the_budget_guard_refuses_until_the_day_rolls_over(
    on_redis: Callable[..., Any], clock: FakeClock
) -> None:
    """Past its share of TRACESINK_MAX_COMMANDS_PER_DAY (100 - TRACESINK_READ_RESERVE
    percent), ingest answers 429 limited_by budget with a Retry-After to midnight UTC; reads
    still work on the reserve; the next day ingest resumes."""
    http, _ = await on_redis(max_commands_per_day=20, read_reserve=50)
    statuses = [
        (await http.post("/log", json={"trace_id": f"t{i}", "message": "m"})).status_code
        for i in range(6)
    ]
    assert statuses[:2] == [200, 200]
    assert statuses[-1] == 429
    refused = await http.post("/log", json={"trace_id": "late", "message": "m"})
    assert refused.json()["limited_by"] == "budget"
    assert "TRACESINK_MAX_COMMANDS_PER_DAY" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) == 14 * 3600  # 10:00 UTC → midnight
    batch = await http.post("/logs", json=[{"trace_id": "late", "message": "m"}])
    assert batch.status_code == 429
    assert batch.json()["rejected"][0]["limited_by"] == "budget"
    assert (await http.get("/logs/t0")).status_code == 200
    stats = (await http.get("/stats")).json()
    assert stats["budget"]["exhausted"] is True
    assert stats["entries"]["refused"]["manual"]["budget"] >= 2
    clock.advance(14 * 3600)
    assert (
        await http.post("/log", json={"trace_id": "next-day", "message": "m"})
    ).status_code == 200


@pytest.mark.redis
async def test_stats_over_the_rest_emulator_equal_the_commands_upstash_would_bill(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Over the project's Upstash REST emulator (not Upstash): /stats and /metrics report exactly
    the commands the emulator received plus the calls the scripts made inside Redis (what Upstash
    bills for the same requests)."""
    plain = redis.Redis.from_url(redis_server.url)
    plain.flushall()
    rest = start_upstash_rest_server(redis_server.url)
    try:
        settings = replace(Settings(), store=rest.store_url, spool_dir="off")
        app = create_app(settings, clock=clock)
        async with (
            app.running(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            ) as http,
        ):
            assert (await http.post("/log", json={"trace_id": "warm", "message": "m"})).is_success
            plain.config_resetstat()
            rest.reset()
            before = app.pipeline.store.usage.commands
            for i in range(12):
                body = {"trace_id": f"t{i % 5}", "message": "m"}
                assert (await http.post("/log", json=body)).is_success
            await http.get("/logs/t1")
            calls = {
                name.removeprefix("cmdstat_"): v["calls"]
                for name, v in plain.info("commandstats").items()
            }
            sent = ("evalsha", "lrange", "pttl")
            inner = sum(n for name, n in calls.items() if name not in (*sent, "config|resetstat"))
            billed = rest.commands_received + inner
            stats = (await http.get("/stats")).json()
            metrics = metric_values((await http.get("/metrics")).text)
        print(
            f"upstash: REST received {rest.commands_received}, scripts' inner calls {inner}, "
            f"/stats {stats['usage']['commands'] - before}"
        )
        assert stats["usage"]["commands"] - before == billed
        assert metrics["tracesink_store_commands_total", ()] - before == billed
    finally:
        rest.stop()
