"""POST /log and POST /logs through the ASGI app: the wire contract, limits and their headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AppClient, FakeClock

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
MakeApp = Callable[..., Any]


async def test_a_log_is_stored_and_acknowledged_with_its_quota(sink: AppClient) -> None:
    """200 with success, trace_id, the entry's id and the smallest remaining quota."""
    response = await sink.log(trace_id="req-1", message="hi", level="info")
    assert response.status_code == 200
    body = response.json()
    assert body == {"success": True, "trace_id": "req-1", "id": body["id"], "remaining_quota": 99}
    assert response.headers["ratelimit-policy"] == '"global";q=1000;w=3600, "trace";q=100;w=3600'
    assert response.headers["ratelimit"] == '"global";r=999;t=3600, "trace";r=99;t=3600'
    trace = (await sink.http.get("/logs/req-1")).json()
    assert [e["id"] for e in trace["entries"]] == [body["id"]]


async def test_exactly_100_of_150_entries_for_one_trace_are_admitted(sink: AppClient) -> None:
    """The per-trace limit admits exactly 100 per window; the rest get 429 naming the trace."""
    statuses = [(await sink.log(trace_id="loop")).status_code for _ in range(150)]
    assert statuses == [200] * 100 + [429] * 50
    refused = await sink.log(trace_id="loop")
    assert refused.json() == {
        "success": False,
        "trace_id": "loop",
        "error": refused.json()["error"],
        "remaining_quota": 0,
        "limited_by": "trace",
    }
    assert "trace quota" in refused.json()["error"]
    assert int(refused.headers["retry-after"]) >= 1
    assert '"trace";r=0' in refused.headers["ratelimit"]
    assert (await sink.http.get("/logs/loop")).json()["count"] == 100


async def test_the_401st_browser_entry_is_refused(sink: AppClient) -> None:
    """Browser's 40 % share of a global 1000: 400 browser entries pass, the 401st is refused."""
    for i in range(400):
        response = await sink.http.post(
            "/log", json={"trace_id": f"b{i}", "message": "m"}, headers={"user-agent": CHROME}
        )
        assert response.status_code == 200, i
    refused = await sink.http.post(
        "/log", json={"trace_id": "b400", "message": "m"}, headers={"user-agent": CHROME}
    )
    assert refused.status_code == 429
    assert refused.json()["limited_by"] == "system"
    worker = await sink.log(trace_id="w", system="worker")
    assert worker.status_code == 200
    assert worker.json()["remaining_quota"] == 99  # the trace's, smaller than global's 599


async def test_a_refused_entry_consumes_no_quota_at_any_level(make_app: MakeApp) -> None:
    """Refusals by the trace level leave global and system quotas untouched."""
    sink: AppClient = await make_app(global_limit=10, trace_limit=2, system_shares={"convex": 50})
    for _ in range(2):
        assert (await sink.log(trace_id="a", system="convex")).status_code == 200
    for _ in range(5):
        refused = await sink.log(trace_id="a", system="convex")
        assert (refused.status_code, refused.json()["limited_by"]) == (429, "trace")
    ok = await sink.log(trace_id="b", system="convex")
    assert ok.status_code == 200
    assert '"global";r=7' in ok.headers["ratelimit"]
    assert '"system";r=2' in ok.headers["ratelimit"]


async def test_global_limit_refuses_manual_entries_too(make_app: MakeApp) -> None:
    """`manual` has no system share, but the global limit still applies to it."""
    sink: AppClient = await make_app(global_limit=3)
    results = [(await sink.log(trace_id=f"m{i}")).json().get("limited_by") for i in range(4)]
    assert results == [None, None, None, "global"]


async def test_50_concurrent_requests_never_over_admit(make_app: MakeApp) -> None:
    """50 requests at once for one trace with a limit of 20: exactly 20 are admitted."""
    sink: AppClient = await make_app(trace_limit=20)
    responses = await asyncio.gather(*(sink.log(trace_id="hot") for _ in range(50)))
    assert sorted(r.status_code for r in responses) == [200] * 20 + [429] * 30
    assert (await sink.http.get("/logs/hot")).json()["count"] == 20


async def test_the_window_slides_instead_of_resetting(make_app: MakeApp, clock: FakeClock) -> None:
    """After a full window, room returns gradually as the old window's weight decays."""
    sink: AppClient = await make_app(trace_limit=10, window_s=100)
    for _ in range(10):
        assert (await sink.log(trace_id="s")).status_code == 200
    clock.advance(100)  # the next window starts: the previous one still weighs fully
    refused = await sink.log(trace_id="s")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"
    clock.advance(10)
    assert (await sink.log(trace_id="s")).status_code == 200
    again = await sink.log(trace_id="s")
    assert (again.status_code, again.json()["limited_by"]) == (429, "trace")


async def test_bad_entries_get_400_naming_the_field_and_store_nothing(sink: AppClient) -> None:
    """Each contract violation is a 400 whose body names the field; nothing is stored."""
    cases = [
        ({"trace_id": "has space", "message": "m"}, "trace_id"),
        ({"trace_id": "t", "message": "m", "level": "loud"}, "level"),
        ({"trace_id": "t", "message": ["m"]}, "message"),
        ({"trace_id": "t", "message": "m", "context": "x"}, "context"),
    ]
    for body, field in cases:
        response = await sink.http.post("/log", json=body)
        assert response.status_code == 400
        assert response.json()["success"] is False
        assert response.json()["field"] == field
        assert field in response.json()["error"]
    for raw in (b"{not json", b'{"trace_id": "t", "message": "\xff\xfe"}', b""):
        response = await sink.http.post("/log", content=raw)
        assert response.status_code == 400
        assert response.json()["field"] == "body"
    assert (await sink.http.get("/traces")).json() == {"traces": []}


async def test_malformed_x_log_system_header_is_refused(sink: AppClient) -> None:
    """A header that cannot be a system name is a 400 naming the header."""
    response = await sink.http.post(
        "/log", json={"trace_id": "t", "message": "m"}, headers={"x-log-system": "main frame"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "X-Log-System"


async def test_source_detection_is_recorded_on_each_entry(sink: AppClient) -> None:
    """The stored entry carries the system and the rule that chose it."""
    sends = [
        ({"x-log-system": "convex"}, {}),
        ({"cf-worker": "shop.example.com"}, {}),
        ({"user-agent": CHROME}, {}),
        ({"x-log-system": "worker"}, {"system": "browser"}),
        ({}, {}),
    ]
    for headers, extra in sends:
        response = await sink.http.post(
            "/log", json={"trace_id": "d", "message": "m", **extra}, headers=headers
        )
        assert response.status_code == 200
    entries = (await sink.http.get("/logs/d")).json()["entries"]
    assert [(e["system"], e["detected_by"]) for e in entries] == [
        ("convex", "x-log-system"),
        ("worker", "cf-worker"),
        ("browser", "user-agent"),
        ("browser", "body"),
        ("manual", "default"),
    ]


async def test_long_messages_are_truncated_not_dropped(make_app: MakeApp) -> None:
    """Over the message cap the entry is stored, cut, marked and flagged truncated."""
    sink: AppClient = await make_app(max_message_bytes=100)
    assert (await sink.log(trace_id="long", message="x" * 1000)).status_code == 200
    [entry] = (await sink.http.get("/logs/long")).json()["entries"]
    assert entry["truncated"] is True
    assert entry["message"] == "x" * 100 + "… [truncated 900 bytes]"


async def test_oversized_body_is_413_naming_the_limit(make_app: MakeApp) -> None:
    """A body over the cap is refused with 413 and the name of the setting."""
    sink: AppClient = await make_app(max_body_bytes=1000)
    response = await sink.log(trace_id="big", message="x" * 2000)
    assert response.status_code == 413
    assert "TRACESINK_MAX_BODY_BYTES" in response.json()["error"]
    assert (await sink.http.get("/logs/big")).status_code == 404


@pytest.mark.parametrize("content_type", ["application/json", "text/plain;charset=UTF-8"])
async def test_batch_as_json_array(sink: AppClient, content_type: str) -> None:
    """A JSON array, also sent as text/plain (sendBeacon), stores every valid item in order."""
    items = [{"trace_id": "bt", "message": f"m{i}"} for i in range(3)]
    response = await sink.http.post(
        "/logs", content=json.dumps(items), headers={"content-type": content_type}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["accepted"], body["rejected"]) == (True, 3, [])
    stored = (await sink.http.get("/logs/bt")).json()["entries"]
    assert [e["message"] for e in stored] == ["m0", "m1", "m2"]
    assert [e["id"] for e in stored] == body["ids"]


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "text/plain"])
async def test_batch_as_ndjson_with_one_bad_item(sink: AppClient, content_type: str) -> None:
    """NDJSON: a bad line is rejected by index with its reason; the others are stored."""
    lines = [
        json.dumps({"trace_id": "nd", "message": "first"}),
        "{broken",
        json.dumps({"trace_id": "nd", "message": "third", "level": "shout"}),
        json.dumps({"trace_id": "nd", "message": "fourth"}),
    ]
    response = await sink.http.post(
        "/logs", content="\n".join(lines) + "\n", headers={"content-type": content_type}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["retryable"]) for r in body["rejected"]] == [(1, False), (2, False)]
    assert body["rejected"][1]["field"] == "level"
    stored = (await sink.http.get("/logs/nd")).json()["entries"]
    assert [e["message"] for e in stored] == ["first", "fourth"]


async def test_batch_rate_limited_items_are_retryable(make_app: MakeApp) -> None:
    """Items refused by a limit are marked retryable with their level; the rest are stored."""
    sink: AppClient = await make_app(trace_limit=2)
    items = [{"trace_id": "rl", "message": str(i)} for i in range(4)]
    response = await sink.http.post("/logs", json=items)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["retryable"], r["limited_by"]) for r in body["rejected"]] == [
        (2, True, "trace"),
        (3, True, "trace"),
    ]
    again = await sink.http.post("/logs", json=items[:1])
    assert again.status_code == 429
    assert int(again.headers["retry-after"]) >= 1


async def test_batch_of_only_bad_items_is_400(sink: AppClient) -> None:
    """Nothing valid, nothing retryable: the batch answers 400 listing every item."""
    response = await sink.http.post("/logs", json=[{"message": "no trace"}, {"trace_id": "t"}])
    assert response.status_code == 400
    assert [r["field"] for r in response.json()["rejected"]] == ["trace_id", "message"]


@pytest.mark.parametrize("body", [b"", b"[]", b"[{", b"\n\n"])
async def test_empty_or_broken_batch_is_400(sink: AppClient, body: bytes) -> None:
    """An empty or unparseable batch fails as a whole, naming the body."""
    response = await sink.http.post("/logs", content=body)
    assert response.status_code == 400
    assert response.json()["field"] == "body"


async def test_batch_over_the_item_cap_is_413(make_app: MakeApp) -> None:
    """More items than TRACESINK_MAX_BATCH_ITEMS: refused whole, naming the setting."""
    sink: AppClient = await make_app(max_batch_items=5)
    response = await sink.http.post("/logs", json=[{"trace_id": "t", "message": "m"}] * 6)
    assert response.status_code == 413
    assert "TRACESINK_MAX_BATCH_ITEMS" in response.json()["error"]
