"""Reading traces back: order, expiry, drop markers, the recent-traces list and health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import AppClient, FakeClock

MakeApp = Callable[..., Any]


async def test_trace_is_returned_oldest_first_with_expiry(
    sink: AppClient, clock: FakeClock
) -> None:
    """Entries come back in arrival order, across systems; expires_at is one TTL after the last."""
    await sink.log(trace_id="story", message="click", system="browser")
    clock.advance(1)
    await sink.log(trace_id="story", message="action", system="convex")
    clock.advance(1)
    await sink.log(trace_id="story", message="fetch", system="worker")
    trace = (await sink.http.get("/logs/story")).json()
    assert [(e["message"], e["system"]) for e in trace["entries"]] == [
        ("click", "browser"),
        ("action", "convex"),
        ("fetch", "worker"),
    ]
    assert trace["count"] == 3
    assert trace["expires_at"] == "2026-11-29T11:00:02.000Z"
    assert trace["dropped"] == {"total": 0, "global": 0, "system": 0, "trace": 0}


async def test_entries_expire_after_the_ttl(make_app: MakeApp, clock: FakeClock) -> None:
    """A trace is readable until TTL seconds after its last write, then gone (404)."""
    sink: AppClient = await make_app(ttl_s=60)
    await sink.log(trace_id="brief")
    clock.advance(59.999)
    assert (await sink.http.get("/logs/brief")).status_code == 200
    clock.advance(0.001)
    gone = await sink.http.get("/logs/brief")
    assert gone.status_code == 404
    assert gone.json()["field"] == "trace_id"
    assert (await sink.http.get("/traces")).json() == {"traces": []}


async def test_a_write_extends_the_whole_trace(make_app: MakeApp, clock: FakeClock) -> None:
    """Each write refreshes the trace's TTL, so older entries live on with the newer ones."""
    sink: AppClient = await make_app(ttl_s=60)
    await sink.log(trace_id="kept", message="old")
    clock.advance(50)
    await sink.log(trace_id="kept", message="new")
    clock.advance(50)
    entries = (await sink.http.get("/logs/kept")).json()["entries"]
    assert [e["message"] for e in entries] == ["old", "new"]


async def test_a_limited_trace_shows_the_gap_in_band(make_app: MakeApp, clock: FakeClock) -> None:
    """Refused entries leave one marker where they happened, with counts and the time span."""
    sink: AppClient = await make_app(trace_limit=2, window_s=60)
    await sink.log(trace_id="gap", message="one")
    await sink.log(trace_id="gap", message="two")
    for _ in range(3):
        clock.advance(1)
        assert (await sink.log(trace_id="gap")).status_code == 429
    clock.advance(120)
    await sink.log(trace_id="gap", message="three")
    trace = (await sink.http.get("/logs/gap")).json()
    messages = [e["message"] for e in trace["entries"]]
    assert messages == [
        "one",
        "two",
        "3 entries dropped (3 by the trace quota) between "
        "2026-11-29T10:00:01.000Z and 2026-11-29T10:00:03.000Z",
        "three",
    ]
    marker = trace["entries"][2]
    assert (marker["kind"], marker["count"], marker["by"]["trace"]) == ("dropped", 3, 3)
    assert trace["dropped"] == {"total": 3, "global": 0, "system": 0, "trace": 3}
    assert trace["count"] == 3


@pytest.mark.parametrize("path", ["/logs/bad%20id", "/logs/" + "x" * 129])
async def test_reading_an_invalid_trace_id_is_400(sink: AppClient, path: str) -> None:
    """A trace_id that could never be stored is refused before it reaches the store."""
    response = await sink.http.get(path)
    assert response.status_code == 400
    assert response.json()["field"] == "trace_id"


async def test_recent_traces_newest_first(sink: AppClient, clock: FakeClock) -> None:
    """GET /traces lists live traces by last write, with counts and systems."""
    await sink.log(trace_id="a", system="browser")
    clock.advance(1)
    await sink.log(trace_id="b", system="worker")
    clock.advance(1)
    await sink.log(trace_id="a", system="convex")
    traces = (await sink.http.get("/traces")).json()["traces"]
    for trace in traces:
        assert trace.pop("last_id") > ""
        assert trace.pop("levels") == {"info": trace["count"]}
        assert trace.pop("preview") == "hello"
    assert traces == [
        {
            "trace_id": "a",
            "count": 2,
            "systems": ["browser", "convex"],
            "last_seen": "2026-11-29T10:00:02.000Z",
        },
        {
            "trace_id": "b",
            "count": 1,
            "systems": ["worker"],
            "last_seen": "2026-11-29T10:00:01.000Z",
        },
    ]
    limited = (await sink.http.get("/traces", params={"limit": "1"})).json()["traces"]
    assert [t["trace_id"] for t in limited] == ["a"]


async def test_recent_traces_preview_the_first_error_else_the_first_message(
    sink: AppClient,
) -> None:
    """Each listed trace carries a one-line ``preview``: its first error's message by event time
    (an error sent later but stamped earlier wins), else its first message; runs of whitespace
    become one space."""
    await sink.log(trace_id="calm", message="page\n  loaded", timestamp="2026-11-29T10:00:05Z")
    await sink.log(trace_id="calm", message="earlier", timestamp="2026-11-29T10:00:01Z")
    await sink.log(trace_id="bad", message="clicked", timestamp="2026-11-29T10:00:00Z")
    await sink.log(trace_id="bad", level="error", message="late", timestamp="2026-11-29T10:00:09Z")
    await sink.log(
        trace_id="bad", level="error", message="declined", timestamp="2026-11-29T10:00:03Z"
    )
    traces = (await sink.http.get("/traces")).json()["traces"]
    previews = {t["trace_id"]: t["preview"] for t in traces}
    assert previews == {"calm": "earlier", "bad": "declined"}


@pytest.mark.parametrize("limit", ["0", "x", "501", "-1"])
async def test_recent_traces_limit_is_validated(sink: AppClient, limit: str) -> None:
    """A bad ?limit= is a 400 naming it."""
    response = await sink.http.get("/traces", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["field"] == "limit"


async def test_health_reports_the_store(sink: AppClient) -> None:
    """/health says ok and which store is in use."""
    body = (await sink.http.get("/health")).json()
    assert (body["status"], body["store"]) == ("ok", "memory://")


async def test_index_lists_the_routes(sink: AppClient) -> None:
    """GET / tells a curious developer what is here."""
    assert "POST /log" in (await sink.http.get("/")).json()["routes"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/log", "POST"),
        ("PUT", "/logs", "POST"),
        ("DELETE", "/logs/t", "GET, PUT, HEAD"),
        ("POST", "/traces", "GET, HEAD"),
        ("POST", "/health", "GET, HEAD"),
    ],
)
async def test_wrong_method_is_405_with_allow(
    sink: AppClient, method: str, path: str, allow: str
) -> None:
    """A known path with the wrong method answers 405 and the methods it takes."""
    response = await sink.http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["field"] == "method"


async def test_unknown_path_is_404(sink: AppClient) -> None:
    """A path that does not exist says so."""
    response = await sink.http.get("/nope")
    assert response.status_code == 404
    assert response.json()["success"] is False
