"""What only the Upstash REST store does: REST error mapping, base64 replies, splitting batches
over the request-size bound, NOSCRIPT over REST, configuration, and what it counts.

Nothing here reaches Upstash: everything runs against the project's Upstash REST emulator
(``tracesink.dev.rest_emulator``, which speaks the REST API as Upstash documents it) over a real
redis-server; the shared store contract runs on the Upstash store over it too, in
test_store_contract.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import httpx
import pytest
import redis.asyncio as aioredis

from tests.contract.conftest import UpstashStoreFactory
from tests.contract.test_store_contract import PLAN, T0, entries, entry, outcomes, read_items
from tests.support.poll import until
from tests.support.redis_server import free_port
from tracesink.dev.rest_emulator import Request, UpstashRestServer
from tracesink.errors import ConfigurationError, StorageError
from tracesink.model import PreparedEntry
from tracesink.store import open_store
from tracesink.store.keys import trace_key
from tracesink.store.memory import MemoryStore
from tracesink.store.rest_client import CommandError, RestClient
from tracesink.store.scripts import REPLAY_BATCH, WRITE_BATCH
from tracesink.store.upstash import TOKEN_VARIABLE, URL_VARIABLE, UpstashStore, split_entries

pytestmark = pytest.mark.redis

SMALL_BOUND = 4096  # bytes per request, for tests of splitting


def evalsha_requests(server: UpstashRestServer) -> int:
    """How many EVALSHA requests the server received."""
    return sum(1 for r in server.requests if r.commands and r.commands[0][0] == "EVALSHA")


async def load_scripts(raw_redis: aioredis.Redis) -> None:
    """Load the scripts as a running database has them, so that no NOSCRIPT round trip comes
    first (tests that count or fail requests by position need that)."""
    for script in (WRITE_BATCH, REPLAY_BATCH):
        await raw_redis.script_load(script.text)


def operations(store: UpstashStore) -> list[Callable[[], Awaitable[object]]]:
    """One call of each kind a store makes, for tests of failures."""
    return [
        lambda: store.write_batch([entry()], T0),
        lambda: store.replay_batch("b1", [entry()], T0, T0),
        lambda: store.read_trace("a", T0),
        lambda: store.recent_traces(10, T0),
        store.ping,
    ]


@pytest.fixture(autouse=True)
def fresh_server(upstash_server: UpstashRestServer) -> None:
    """Every test here starts with no recorded requests, faults or body limit."""
    upstash_server.reset()


@pytest.fixture
async def rest_client(
    upstash_server: UpstashRestServer, raw_redis: aioredis.Redis
) -> AsyncIterator[RestClient]:
    """A bare REST client on the fixture (an emptied database)."""
    client = RestClient(upstash_server.url, upstash_server.token, timeout_s=5, connect_timeout_s=2)
    yield client
    await client.aclose()


# --- errors ---------------------------------------------------------------------------------


async def test_a_refused_token_is_a_storage_error_that_never_shows_the_token(
    upstash_server: UpstashRestServer, raw_redis: aioredis.Redis
) -> None:
    """With a wrong token every operation raises StorageError saying the token was refused,
    and neither the message, its cause nor the store's repr contains the token."""
    secret = "wr0ng-t0ken-s3cret"  # noqa: S105  (a made-up token the server refuses)
    store = UpstashStore(f"upstash+http://:{secret}@127.0.0.1:{upstash_server.port}", PLAN)
    try:
        for call in operations(store):
            with pytest.raises(StorageError, match="token was refused") as raised:
                await call()
            assert secret not in str(raised.value)
            assert secret not in repr(raised.value.__cause__)
        assert secret not in repr(store)
    finally:
        await store.close()
    assert await raw_redis.dbsize() == 0


async def test_a_5xx_is_a_storage_error_and_the_write_is_not_sent_again(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """A 503 fails the write with StorageError after exactly one request: no blind retry."""
    store = make_upstash_store(PLAN)
    upstash_server.fail_next(503)
    with pytest.raises(StorageError, match="HTTP 503"):
        await store.write_batch([entry()], T0)
    assert [r.status for r in upstash_server.requests] == [503]
    assert await raw_redis.exists(trace_key("", "a")) == 0


async def test_a_timed_out_write_is_not_sent_again_and_its_replay_is_recognised(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """A write whose answer never comes in time fails with StorageError after one request; it
    ran, so the replay of its batch (from the spool) is recognised and stores nothing twice."""
    await load_scripts(raw_redis)
    store = make_upstash_store(PLAN, timeout_s=0.2)
    upstash_server.stall_next(0.6)
    sent = entries(2)
    with pytest.raises(StorageError, match="may have run"):
        await store.write_batch(sent, T0, "slow-batch")

    async def answered() -> list[Request]:
        return upstash_server.requests

    # The emulator records a request when it answers: the stalled answer goes out (to nobody)
    # 0.6 s after it came. A second request would have been counted at once, before that.
    [stalled] = await until(answered, "the stalled answer sent")
    assert upstash_server.commands_received == len(stalled.commands)
    assert await store.replay_batch("slow-batch", sent, T0, T0 + 1_000) is False
    assert await read_items(store, "a") == [e.payload for e in sent]


async def test_an_unreachable_server_is_a_storage_error_without_the_token() -> None:
    """Every operation on a REST URL nobody listens on raises StorageError; no token shown."""
    store = UpstashStore(f"upstash+http://:s3cret@127.0.0.1:{free_port()}", PLAN)
    try:
        for call in operations(store):
            with pytest.raises(StorageError) as raised:
                await call()
            assert "s3cret" not in str(raised.value)
    finally:
        await store.close()


async def test_a_failed_command_in_a_read_pipeline_is_a_storage_error_naming_it(
    make_upstash_store: UpstashStoreFactory, raw_redis: aioredis.Redis
) -> None:
    """When one command of a read's pipeline fails, the read raises StorageError with the
    command and Redis's message."""
    store = make_upstash_store(PLAN)
    await raw_redis.set(trace_key("", "x"), "not a list")
    with pytest.raises(StorageError, match="LRANGE failed: WRONGTYPE"):
        await store.read_trace("x", T0)


async def test_a_pipeline_returns_every_result_and_each_failure_in_place(
    rest_client: RestClient,
) -> None:
    """One failed command in a pipeline is a CommandError in its place; the others' results
    are all there (the official SDK drops them)."""
    results = await rest_client.pipeline([["SET", "k", "v"], ["INCR", "k"], ["GET", "k"]])
    assert results[0] == b"OK"
    assert isinstance(results[1], CommandError)
    assert results[1].message.startswith("ERR value is not an integer")
    assert results[2] == b"v"


async def test_a_pipeline_refused_as_a_whole_is_a_command_error(
    rest_client: RestClient, upstash_server: UpstashRestServer
) -> None:
    """A pipeline the server refuses as a whole (HTTP 400, one error) raises CommandError."""
    upstash_server.max_body_bytes = 10
    with pytest.raises(CommandError, match="max request size exceeded"):
        await rest_client.pipeline([["SET", "k", "v"], ["GET", "k"]])


async def test_a_single_failed_command_is_a_command_error_with_redis_message(
    rest_client: RestClient,
) -> None:
    """A failed command (HTTP 400) raises CommandError carrying Redis's error text."""
    with pytest.raises(CommandError, match="wrong number of arguments"):
        await rest_client.command(["GET"])


# --- replies --------------------------------------------------------------------------------


async def test_payloads_round_trip_byte_for_byte_through_base64_replies(
    make_upstash_store: UpstashStoreFactory, upstash_server: UpstashRestServer
) -> None:
    """Non-ASCII text, control characters and JSON escapes read back as the exact payload
    bytes, and every request asked for base64 replies."""
    messages = [
        "héllo ✓ 🚀",
        "日本語のテキスト",
        "مرحبا بالعالم",
        "e\u0301 \ufeff \u2028\u2029",
        "\x00\x01\x1f\x7f tabs\tand\nnewlines",
        'quotes " and \\ backslashes',
    ]
    store = make_upstash_store(PLAN)
    sent = [entry(message=m, context={"ключ": m}) for m in messages]
    await store.write_batch(sent, T0)
    assert await read_items(store, "a") == [e.payload for e in sent]
    assert all(r.base64 for r in upstash_server.requests)


async def test_binary_values_integers_and_null_decode_exactly(
    rest_client: RestClient, raw_redis: aioredis.Redis
) -> None:
    """A value that is not UTF-8 comes back as its exact bytes; integers and null as such."""
    await raw_redis.set("bin", b"\xff\x00\xfe\x80")
    assert await rest_client.command(["GET", "bin"]) == b"\xff\x00\xfe\x80"
    assert await rest_client.command(["INCR", "n"]) == 1
    assert await rest_client.command(["GET", "missing"]) is None
    assert await rest_client.command(["SET", "k", "OK"]) == b"OK"
    assert await rest_client.command(["GET", "k"]) == b"OK"


# --- splitting ------------------------------------------------------------------------------


async def test_a_batch_over_the_bound_is_split_with_the_same_outcome_as_one_call(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """Under a small bound a batch goes as several script calls, each body within the bound
    (a server that refuses larger ones takes them all), with the decisions, stored items and
    recent traces that one call (as MemoryStore mirrors it) produces."""
    policy = replace(PLAN, global_limit=30, trace_limit=8, system_limits={"browser": 10})
    hot = [entry("hot", message="h" * (50 + i)) for i in range(10)]  # the trace level refuses 2
    spread = [
        entry(f"t{i % 4}", "browser" if i % 2 else "worker", message="x" * (40 + i))
        for i in range(50)
    ]
    batch = hot + spread
    await load_scripts(raw_redis)
    upstash_server.max_body_bytes = SMALL_BOUND
    store = make_upstash_store(policy, max_request_bytes=SMALL_BOUND)
    memory = MemoryStore("memory://", policy)
    decisions = await store.write_batch(batch, T0)
    assert decisions == await memory.write_batch(batch, T0)
    assert {None, "global", "system", "trace"} <= set(outcomes(decisions))
    for trace_id in ("hot", "t0", "t1", "t2", "t3"):
        assert await read_items(store, trace_id) == await read_items(memory, trace_id)
    assert await store.recent_traces(10, T0) == await memory.recent_traces(10, T0)
    assert evalsha_requests(upstash_server) > 3
    assert all(r.status == 200 for r in upstash_server.requests)
    assert max(r.body_bytes for r in upstash_server.requests) <= SMALL_BOUND


async def test_a_split_batch_that_failed_part_way_is_replayed_exactly_once(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """When a later sub-batch fails, the replay of the whole batch splits it the same way and
    skips the sub-batches already stored: every entry is stored once, in order."""
    await load_scripts(raw_redis)
    store = make_upstash_store(PLAN, max_request_bytes=SMALL_BOUND)
    sent = [entry(message=f"{i:03d}" + "y" * 200) for i in range(40)]
    upstash_server.fail_next(503, skip=1)  # the first sub-batch is stored, the second is not
    with pytest.raises(StorageError):
        await store.write_batch(sent, T0, "split-batch")
    stored_first = await read_items(store, "a")
    assert 0 < len(stored_first) < len(sent)
    assert await store.replay_batch("split-batch", sent, T0, T0 + 1_000) is True
    assert await read_items(store, "a") == [e.payload for e in sent]
    assert await store.replay_batch("split-batch", sent, T0, T0 + 2_000) is False
    assert len(await read_items(store, "a")) == len(sent)


async def test_an_entry_over_the_bound_goes_alone_and_a_refusal_is_a_storage_error(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """An entry too large for the bound on its own is sent in a call of its own: stored where
    the plan allows larger requests, a StorageError with the server's message where not."""
    huge = entry(message="z" * (2 * SMALL_BOUND))
    batch = [entry(message="before"), huge, entry(message="after")]
    await load_scripts(raw_redis)
    store = make_upstash_store(PLAN, max_request_bytes=SMALL_BOUND)
    assert all(d.admitted for d in await store.write_batch(batch, T0))
    assert await read_items(store, "a") == [e.payload for e in batch]
    assert evalsha_requests(upstash_server) == 3

    upstash_server.max_body_bytes = SMALL_BOUND
    with pytest.raises(StorageError, match="max request size exceeded"):
        await store.write_batch([huge], T0)


def test_a_batch_within_the_bound_is_not_split_and_a_split_depends_on_the_entries_only() -> None:
    """Below the budget a batch stays whole; above it, the runs are consecutive, each within
    the budget unless it is one entry, and the same for the same entries every time."""
    batch: list[PreparedEntry] = entries(500)
    assert split_entries(batch, 1_000_000) == [batch]
    mixed = [entry(f"t{i % 7}", message="m" * (i * 37 % 900)) for i in range(300)]
    parts = split_entries(mixed, 4_000)
    assert [e for part in parts for e in part] == mixed
    assert len(parts) > 10
    assert parts == split_entries(list(mixed), 4_000)
    alone = split_entries([entry(message="x" * 5_000)], 4_000)
    assert [len(part) for part in alone] == [1]


# --- scripts and costs ----------------------------------------------------------------------


async def test_noscript_loads_the_script_and_sends_the_batch_again(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """On a database without the script: EVALSHA (400 NOSCRIPT), SCRIPT LOAD, EVALSHA again;
    the refused EVALSHA and the SCRIPT LOAD are counted as the commands they are."""
    store = make_upstash_store(PLAN)
    await store.write_batch([entry("warm-up")], T0)  # the window's one-off housekeeping
    await raw_redis.script_flush()
    upstash_server.reset()
    before = store.usage.commands
    [decision] = await store.write_batch([entry()], T0)
    after_noscript = store.usage.commands
    assert decision.admitted
    sha = WRITE_BATCH.sha
    sent = [(r.commands[0][:2], r.status) for r in upstash_server.requests]
    assert sent == [(["EVALSHA", sha], 400), (["SCRIPT", "LOAD"], 200), (["EVALSHA", sha], 200)]
    await store.write_batch([entry("b")], T0)  # the same work, the script loaded
    assert after_noscript - before == store.usage.commands - after_noscript + 2
    assert await raw_redis.llen(trace_key("", "a")) == 1


async def test_usage_counts_the_commands_received_plus_the_scripts_inner_calls(
    make_upstash_store: UpstashStoreFactory,
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
) -> None:
    """usage.commands = the commands the REST server received (as Upstash bills them, one per
    pipelined command) + the calls the scripts made inside Redis, as Redis counts them."""
    store = make_upstash_store(replace(PLAN, trace_limit=2))
    await store.write_batch([entry("warm-up")], T0)  # loads the script
    await raw_redis.config_resetstat()
    upstash_server.reset()
    before = store.usage.commands
    await store.write_batch([*entries(4, "a"), entry("b", "browser")], T0 + 1)
    await store.write_batch([entry("a"), entry("c")], T0 + 2)
    await store.read_trace("a", T0 + 2)
    await store.recent_traces(10, T0 + 2)
    await store.ping()
    stats = await raw_redis.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    sent_over_rest = ("evalsha", "lrange", "pttl", "hgetall", "ping")
    ours = ("info", "config|resetstat")  # the test's own
    inner = sum(n for name, n in calls.items() if name not in (*sent_over_rest, *ours))
    assert upstash_server.commands_received == sum(calls.get(name, 0) for name in sent_over_rest)
    # 2 EVALSHA; LRANGE + PTTL; HGETALL of two window hashes + LRANGE of warm-up, a, b, c; PING
    assert upstash_server.commands_received == 2 + 2 + (2 + 4) + 1
    assert store.usage.commands - before == upstash_server.commands_received + inner


# --- configuration --------------------------------------------------------------------------


async def test_upstash_alone_reads_the_two_variables_upstash_hands_out(
    upstash_server: UpstashRestServer,
    raw_redis: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TRACESINK_STORE=upstash takes the URL and token from UPSTASH_REDIS_REST_URL and
    UPSTASH_REDIS_REST_TOKEN, and its repr shows the URL without the token."""
    monkeypatch.setenv(URL_VARIABLE, upstash_server.url)
    monkeypatch.setenv(TOKEN_VARIABLE, upstash_server.token)
    store = open_store("upstash", PLAN)
    try:
        assert isinstance(store, UpstashStore)
        assert upstash_server.token not in repr(store)
        assert f"127.0.0.1:{upstash_server.port}" in repr(store)
        await store.ping()
        await store.write_batch([entry()], T0)
        assert len(await read_items(store, "a")) == 1
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, f"{URL_VARIABLE}, {TOKEN_VARIABLE}"),
        ({URL_VARIABLE: "https://eu1.upstash.io"}, TOKEN_VARIABLE),
        ({TOKEN_VARIABLE: "s3cret"}, URL_VARIABLE),
    ],
)
def test_upstash_alone_without_its_variables_names_them(
    environ: dict[str, str], missing: str
) -> None:
    """A missing variable is a ConfigurationError that names both and says which is missing."""
    with pytest.raises(ConfigurationError, match=URL_VARIABLE) as raised:
        UpstashStore("upstash", PLAN, environ=environ)
    assert str(raised.value).endswith(f"not set: {missing}")
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("upstash+https://:s3cret@eu1.upstash.io", "upstash+https://:****@eu1.upstash.io"),
        ("upstash+https://s3cret@eu1.upstash.io/", "upstash+https://:****@eu1.upstash.io"),
        (
            "upstash+https://default:s3cret@eu1.upstash.io:443",
            "upstash+https://:****@eu1.upstash.io:443",
        ),
        ("upstash+http://:s3cret@127.0.0.1:8079/base", "upstash+http://:****@127.0.0.1:8079/base"),
    ],
)
def test_the_url_forms_are_accepted_and_the_token_masked(url: str, shown: str) -> None:
    """The token goes in the password slot (or alone before @); a repr never shows it."""
    store = open_store(url, PLAN)  # constructing never connects
    assert repr(store) == f"UpstashStore({shown!r})"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("upstash+https://eu1.upstash.io", "no token"),
        ("upstash+ftp://:s3cret@eu1.upstash.io", "not a REST URL"),
        ("upstash+https://:s3cret@eu1.upstash.io:port", "invalid port"),
        ("upstash+https://:s3cr\u00e9t@eu1.upstash.io", "HTTP header"),
        ("upstash://eu1.upstash.io", "not a REST URL"),
    ],
)
def test_a_bad_url_is_a_configuration_error_without_the_token(url: str, problem: str) -> None:
    """A URL the store cannot use is refused when it is built, naming the problem, token masked."""
    with pytest.raises(ConfigurationError, match=problem) as raised:
        UpstashStore(url, PLAN, environ={})
    assert "s3cr" not in str(raised.value)


# --- the emulator itself: it behaves as Upstash documents -----------------------------------


async def test_the_rest_emulator_answers_as_upstash_documents(
    upstash_server: UpstashRestServer, raw_redis: aioredis.Redis
) -> None:
    """401 without the token; /multi-exec is one transaction with per-command errors, or one
    400 error when discarded; the path form works; base64 leaves "OK" and integers alone."""
    auth = {"Authorization": f"Bearer {upstash_server.token}"}
    async with httpx.AsyncClient(base_url=upstash_server.url) as http:
        denied = await http.post("/", json=["PING"])
        assert (denied.status_code, denied.json()) == (401, {"error": "Unauthorized"})
        multi = await http.post(
            "/multi-exec", json=[["SET", "k", "1"], ["INCR", "k"], ["HGET", "k", "f"]], headers=auth
        )
        assert multi.status_code == 200
        assert multi.json()[:2] == [{"result": "OK"}, {"result": 2}]
        assert multi.json()[2]["error"].startswith("WRONGTYPE")
        discarded = await http.post("/multi-exec", json=[["SET", "k", "1"], ["NOPE"]], headers=auth)
        assert discarded.status_code == 400
        assert set(discarded.json()) == {"error"}
        assert (await http.get("/set/foo/bar", headers=auth)).json() == {"result": "OK"}
        encoded = {**auth, "Upstash-Encoding": "base64"}
        got = await http.post(
            "/pipeline", json=[["GET", "foo"], ["SET", "n", "5"], ["INCR", "n"]], headers=encoded
        )
        assert got.json() == [{"result": "YmFy"}, {"result": "OK"}, {"result": 6}]
