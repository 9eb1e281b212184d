"""The shared test vectors (tests/vectors/ingest.json) against both ingesters.

Every group of requests runs in order against the Python service and, separately, against the
edge Worker, each on its own key prefix of one redis-server (reached through the Upstash REST
server, as Upstash is in production). After each request the trace is read back through the Python
service's ``GET /logs/{trace_id}``: the same answers and the same stored entries from both, or the
two have drifted. Where a case gives ``stored_bytes``, the trace's list items are also read from
Redis as they are stored and compared text for text (ids and times aside, where the case says
``<id>`` or ``<time>``): the same JSON, key order, escapes and number spellings from both.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.edge.conftest import fresh_prefix
from tests.support.edge_worker import running_worker
from tests.support.redis_server import RedisServer
from tests.support.service import serving
from tracesink.config import Settings
from tracesink.dev.rest_emulator import UpstashRestServer
from tracesink.pipeline import policy_from
from tracesink.store.scripts import logs_key

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "ingest.json").read_text("utf-8"))
GROUPS = {group["name"].split(":")[0]: group for group in VECTORS["groups"]}
PATTERNS = {
    "<id>": re.compile(r"[0-9a-f]{28}"),
    "<time>": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
}
# Drops refused without a command are written within the refusal memory's flush delay (2 s);
# a read of the Python service writes its own at once, the Worker's come by ctx.waitUntil.
STORED_WITHIN_S = 6.0

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("node_ready")]


def mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected`` (with the placeholders the file describes)."""
    if isinstance(expected, str) and expected in PATTERNS:
        ok = isinstance(actual, str) and PATTERNS[expected].fullmatch(actual) is not None
    elif expected == "<int>":
        ok = isinstance(actual, int) and not isinstance(actual, bool)
    elif isinstance(expected, str) and expected.startswith("~"):
        ok = isinstance(actual, str) and re.fullmatch(expected[1:], actual, re.S) is not None
    elif isinstance(expected, dict):
        if not isinstance(actual, dict) or set(expected) != set(actual):
            return [f"{where or 'value'}: expected keys {sorted(expected)}, got {actual!r}"]
        return [m for k in expected for m in mismatches(expected[k], actual[k], f"{where}.{k}")]
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [f"{where or 'value'}: expected {len(expected)} items, got {actual!r}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in mismatches(e, a, f"{where}[{i}]")
        ]
    else:
        ok = expected == actual and type(expected) is type(actual)
    return [] if ok else [f"{where or 'value'}: expected {expected!r}, got {actual!r}"]


CLOCK = re.compile(r"<clock([+-]\d+)>")


def with_clock(text: str) -> str:
    """``<clock+N>`` / ``<clock-N>``: the sender's clock, N ms off the test's."""
    return CLOCK.sub(lambda m: str(round(time.time() * 1000) + int(m.group(1))), text)


def body_text(given: str | list[list[Any]]) -> str:
    """``body_text`` as written, or its parts: [text, times] pairs (a 5,000-deep body)."""
    if isinstance(given, str):
        return given
    return "".join(str(text) * int(times) for text, times in given)


def send(client: httpx.Client, request: dict[str, Any]) -> httpx.Response:
    headers = {name: with_clock(value) for name, value in request["headers"].items()}
    if "body_text" in request:
        content = body_text(request["body_text"]).encode()
    elif "body" in request:
        content = json.dumps(request["body"]).encode()
        headers.setdefault("Content-Type", "application/json")
    else:
        content = b""
    path = with_clock(request["path"])
    return client.request(request["method"], path, content=content, headers=headers)


def check_response(case: dict[str, Any], response: httpx.Response) -> list[str]:
    expected = case["response"]
    problems = []
    if response.status_code != expected["status"]:
        problems.append(f"status: expected {expected['status']}, got {response.status_code}")
    if "body" in expected:
        try:
            body = response.json()
        except ValueError:
            return [*problems, f"body: not JSON: {response.text!r}"]
        problems += mismatches(expected["body"], body, "body")
    for name, value in expected.get("headers", {}).items():
        got = response.headers.get(name)
        if value is None:
            if got is not None:
                problems.append(f"header {name}: expected none, got {got!r}")
        else:
            problems += mismatches(value, got, f"header {name}")
    return problems


def bytes_pattern(expected: str) -> re.Pattern[str]:
    """An expected stored item as a pattern: the text exactly, ``<id>``, ``<time>`` and
    ``<int>`` (a clock offset) aside."""
    parts = re.split(r"(<id>|<time>|<int>)", expected)
    known = {**{k: v.pattern for k, v in PATTERNS.items()}, "<int>": r"-?\d+"}
    pattern = "".join(known.get(p, re.escape(p)) for p in parts)
    return re.compile(pattern)


def check_bytes(store: Stored, trace_id: str, expected: list[str]) -> list[str]:
    listed: list[bytes] = store.client.lrange(store.key(trace_id), 0, -1)  # type: ignore[assignment]
    items = [raw.decode() for raw in reversed(listed)]
    if len(items) != len(expected):
        return [f"stored bytes: expected {len(expected)} items, got {items!r}"]
    return [
        f"stored bytes [{i}]: expected {want}, got {got}"
        for i, (want, got) in enumerate(zip(expected, items, strict=True))
        if bytes_pattern(want).fullmatch(got) is None
    ]


def check_stored(reader: httpx.Client, stored: dict[str, Any]) -> list[str]:
    deadline = time.monotonic() + STORED_WITHIN_S
    while True:
        response = reader.get(f"/logs/{stored['trace_id']}")
        got = response.json() if response.status_code == 200 else {"status": response.status_code}
        problems = mismatches(stored["entries"], got.get("entries"), "stored")
        problems += mismatches(stored["dropped"], got.get("dropped"), "dropped")
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.2)


@pytest.fixture(params=["python", "edge"])
def ingester(request: pytest.FixtureRequest) -> str:
    target: str = request.param
    return target


class Stored:
    """The trace lists as Redis holds them, under one key prefix."""

    def __init__(self, redis_server: RedisServer, prefix: str) -> None:
        self.client = redis.Redis.from_url(redis_server.url)
        self._policy = policy_from(Settings(key_prefix=prefix))

    def key(self, trace_id: str) -> str:
        return logs_key(self._policy, trace_id)


@pytest.fixture
def clients(
    ingester: str, group: str, upstash_server: UpstashRestServer, redis_server: RedisServer
) -> Iterator[tuple[httpx.Client, httpx.Client, Stored]]:
    """(the ingester under test, the Python service that reads, the raw lists), on one fresh
    key prefix."""
    prefix = fresh_prefix(f"vec-{ingester}")
    env = {**GROUPS[group]["settings"], "TRACESINK_KEY_PREFIX": prefix}
    store = {"TRACESINK_STORE": upstash_server.store_url}
    with ExitStack() as stack:
        reader = stack.enter_context(serving({**env, **store}))
        url = reader.url
        if ingester == "edge":
            url = stack.enter_context(
                running_worker(upstash_server.url, upstash_server.token, env)
            ).url
        # A connection per request: a kept-alive one that the server closes while idle (workerd
        # does, during the seconds a marker check waits) would fail the next request with a reset.
        fresh = httpx.Limits(max_keepalive_connections=0)
        writer = stack.enter_context(httpx.Client(base_url=url, timeout=10, limits=fresh))
        read = stack.enter_context(httpx.Client(base_url=reader.url, timeout=10))
        yield writer, read, Stored(redis_server, prefix)


@pytest.mark.parametrize("group", list(GROUPS))
def test_vectors(
    group: str, ingester: str, clients: tuple[httpx.Client, httpx.Client, Stored]
) -> None:
    """Each request of the group gets the vector's answer, and stores the vector's entries
    (and, where the case gives them, the vector's bytes)."""
    writer, reader, store = clients
    failures = []
    for case in GROUPS[group]["cases"]:
        problems = check_response(case, send(writer, case["request"]))
        if "stored" in case:
            problems += check_stored(reader, case["stored"])
        if "stored_bytes" in case:
            problems += check_bytes(store, case["stored"]["trace_id"], case["stored_bytes"])
        failures += [f"{case['name']}: {p}" for p in problems]
    assert not failures, f"{ingester} drifted from tests/vectors/ingest.json:\n" + "\n".join(
        failures
    )
