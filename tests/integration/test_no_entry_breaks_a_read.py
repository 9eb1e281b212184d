"""No stored entry can break a read (issue 21 item 2), against real ``tracesink serve`` processes
on memory:// and on a real redis-server.

What no reader could serve is refused or normalised at the door (a ``1e400`` in context is a 400
naming ``context``; a lone surrogate is stored as U+FFFD), and what reaches a trace list anyway
(another tool's ``LPUSH``: not JSON, not UTF-8, JSON of the wrong shape, pretty-printed JSON) reads
as an undecodable placeholder while every other entry reads as usual: ``GET /logs/{trace_id}``,
``GET /traces``, a trace's live stream, the every-trace stream and ``tracesink logs`` all keep
answering.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from tests.support.live import reading
from tests.support.redis_server import RedisServer
from tests.support.service import Service, serving
from tracesink.config import Settings
from tracesink.pipeline import policy_from
from tracesink.store.scripts import logs_key

pytestmark = pytest.mark.slow

POISON = [
    b'{"trace_id":"t","message":"m","context":{"a":1e400}}',
    b'{"trace_id":"t","message":"m","context":{"a":[-1E+309]}}',
    b'{"trace_id":"t","message":"m","context":{"a":' + b"9" * 400 + b"}}",
    b'{"trace_id":"t","message":"m","timestamp":1e400}',
]
GARBAGE = [
    b"not json",
    b"\xff\xfe\x00 not UTF-8",
    b'{"kind":"dropped","count":"many"}',
    b'["an", "array"]',
    b'{"id":"0000000000000000000000000001","system":["not","text"],"level":{}}',
]
PRETTY = b'{\n  "id": "00000000000000000000000000ff",\n  "trace_id": "x",\n  "system": "manual",\n  "level": "log",\n  "message": "pretty"\n}'  # noqa: E501


def post(service: Service, body: bytes, path: str = "/log") -> httpx.Response:
    return httpx.post(
        f"{service.url}{path}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=10,
    )


def reads_answer(service: Service, trace_id: str) -> dict[str, Any]:
    """Every read route answers 200; the trace's JSON."""
    trace = httpx.get(f"{service.url}/logs/{trace_id}", timeout=10)
    assert trace.status_code == 200, trace.text
    for path in ("/traces", "/traces?level=error", f"/logs/{trace_id}?q=m", "/stats", "/health"):
        answer = httpx.get(f"{service.url}{path}", timeout=10)
        assert answer.status_code == 200, (path, answer.text)
    document: dict[str, Any] = trace.json()
    return document


@pytest.fixture(scope="module")
def memory_service() -> Iterator[Service]:
    with serving() as service:
        yield service


@pytest.fixture(scope="module")
def redis_service(redis_server: RedisServer) -> Iterator[Service]:
    with serving({"TRACESINK_STORE": redis_server.url}) as service:
        yield service


@pytest.fixture(params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Service:
    fixture = f"{request.param}_service"
    found: Service = request.getfixturevalue(fixture)
    return found


@pytest.mark.parametrize("body", POISON, ids=["1e400", "-1E+309", "400 digits", "timestamp"])
def test_numbers_no_reader_can_hold_are_refused_naming_the_field(
    service: Service, body: bytes
) -> None:
    """A number beyond a 64-bit float (in context or a typed field) is a 400 naming the field;
    the trace written next to it reads back, and so does every read route."""
    trace_id = f"poison-{abs(hash(body)) % 10**8}"
    answer = post(service, body.replace(b'"t"', f'"{trace_id}"'.encode()))
    assert answer.status_code == 400, answer.text
    field = "timestamp" if b"timestamp" in body else "context"
    assert answer.json()["field"] == field
    assert post(service, f'{{"trace_id":"{trace_id}","message":"fine"}}'.encode()).is_success
    assert [e["message"] for e in reads_answer(service, trace_id)["entries"]] == ["fine"]


def test_a_lone_surrogate_is_stored_as_a_replacement_character(service: Service) -> None:
    """``"x\\ud800y"`` in the message and in context is kept, as U+FFFD, and reads back;
    so it does in a batch, where the other items are stored too."""
    single = post(service, rb'{"trace_id":"lone","message":"x\ud800y","context":{"k":"\udc00"}}')
    assert single.status_code == 200, single.text
    batch = b'{"trace_id":"lone","message":"ok"}\n{"trace_id":"lone","message":"\\ud83d"}'
    assert post(service, batch, "/logs").json()["accepted"] == 2
    entries = reads_answer(service, "lone")["entries"]
    assert [e["message"] for e in entries] == ["x\ufffdy", "ok", "\ufffd"]
    assert entries[0]["context"] == {"k": "\ufffd"}


def test_innocent_requests_of_the_same_group_commit_are_stored(service: Service) -> None:
    """Poisoned and innocent requests sent at once: every poisoned one is a 400, every
    innocent one a 200, and each innocent entry reads back."""
    bodies = [
        (POISON[i % len(POISON)] if i % 2 else f'{{"message":"ok {i}"}}'.encode()).replace(
            b'"trace_id":"t",', b""
        )
        for i in range(40)
    ]
    headers = {"content-type": "application/json", "x-trace-id": "group"}
    with httpx.Client(base_url=service.url, timeout=10) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: client.post("/log", content=b, headers=headers), bodies))
    assert [a.status_code for a in answers] == [400 if i % 2 else 200 for i in range(40)]
    stored = {e["message"] for e in reads_answer(service, "group")["entries"]}
    assert stored == {f"ok {i}" for i in range(0, 40, 2)}


def test_garbage_written_into_a_trace_list_reads_as_undecodable(
    redis_service: Service, redis_server: RedisServer
) -> None:
    """Another tool's items in a trace list (not JSON, not UTF-8, the wrong shape): each reads as
    an undecodable placeholder saying where it is and how long; the entries around them read
    as usual, in GET /logs, /traces, the trace's live stream and the every-trace stream."""
    trace_id = "garbage"
    assert post(redis_service, b'{"trace_id":"garbage","message":"before"}').is_success
    key = logs_key(policy_from(Settings()), trace_id)
    client = redis.Redis.from_url(redis_server.url)
    client.lpush(key, *GARBAGE, PRETTY)
    assert post(redis_service, b'{"trace_id":"garbage","message":"after"}').is_success

    trace = reads_answer(redis_service, trace_id)
    kinds = [e.get("kind", e.get("message")) for e in trace["entries"]]
    assert kinds == ["before", *["undecodable"] * len(GARBAGE), "pretty", "after"]
    placeholders = [e for e in trace["entries"] if e.get("kind") == "undecodable"]
    assert [(p["position"], p["bytes"]) for p in placeholders] == [
        (i + 1, len(raw)) for i, raw in enumerate(GARBAGE)
    ]
    assert placeholders[0]["excerpt"] == "not json"
    assert (trace["count"], trace["total"]) == (3, 3)
    listed = httpx.get(f"{redis_service.url}/traces", timeout=10).json()["traces"]
    assert next(t for t in listed if t["trace_id"] == trace_id)["count"] == 3

    with reading(f"{redis_service.url}/logs/{trace_id}/live") as live:
        assert [e["message"] for e in live.until_ready()] == ["before", "pretty", "after"]
        client.lpush(key, b"\x00 more garbage")
        assert post(redis_service, b'{"trace_id":"garbage","message":"later"}').is_success
        assert live.next_entry()["message"] == "later"

    with reading(f"{redis_service.url}/live") as every:
        assert every.until_ready() == []
        client.lpush(key, b"{ still not json")
        assert post(redis_service, b'{"trace_id":"garbage","message":"last"}').is_success
        assert every.next_entry(timeout=20)["message"] == "last"
    assert json.dumps(reads_answer(redis_service, trace_id))  # still whole

    logs = subprocess.run(
        [sys.executable, "-m", "tracesink", "logs", trace_id, "--url", redis_service.url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert logs.returncode == 0, logs.stderr
    assert "undecodable item at position 1" in logs.stdout
    assert "pretty" in logs.stdout
    assert "last" in logs.stdout
