"""Filtered reads: GET /logs/{trace_id} and GET /traces with level, system, q and the since
cursor; a bad parameter is a 400 naming it."""

from __future__ import annotations

import pytest

from tests.conftest import AppClient, FakeClock


async def story(sink: AppClient, clock: FakeClock) -> list[str]:
    ids = []
    for system, level, message in [
        ("browser", "info", "clicked pay"),
        ("convex", "error", "card declined"),
        ("worker", "warn", "retrying upstream"),
    ]:
        clock.advance(1)
        response = await sink.log(trace_id="story", system=system, level=level, message=message)
        ids.append(response.json()["id"])
    return ids


async def test_filters_narrow_a_trace(sink: AppClient, clock: FakeClock) -> None:
    """level is a minimum severity, system a set, q a case-insensitive text match; count is
    what matched, total what the trace holds, last_id its newest entry either way."""
    ids = await story(sink, clock)

    async def messages(query: str) -> list[str]:
        document = (await sink.http.get(f"/logs/story?{query}")).json()
        assert (document["total"], document["last_id"]) == (3, ids[-1])
        assert document["count"] == len(document["entries"])
        return [e["message"] for e in document["entries"]]

    assert await messages("level=warn") == ["card declined", "retrying upstream"]
    assert await messages("system=browser,worker") == ["clicked pay", "retrying upstream"]
    assert await messages("system=browser&system=convex") == ["clicked pay", "card declined"]
    assert await messages("q=DECLINED") == ["card declined"]
    assert await messages("level=error&system=browser") == []


async def test_since_returns_only_newer_entries(sink: AppClient, clock: FakeClock) -> None:
    """A client polling with since=<last id it saw> gets only what is new, then nothing."""
    ids = await story(sink, clock)
    newer = (await sink.http.get(f"/logs/story?since={ids[0]}")).json()["entries"]
    assert [e["id"] for e in newer] == ids[1:]
    assert (await sink.http.get(f"/logs/story?since={ids[-1]}")).json()["entries"] == []


async def test_traces_filter_by_level_system_and_since(sink: AppClient, clock: FakeClock) -> None:
    """/traces?level=error lists traces holding an error; system= those with such entries;
    since= those with entries newer than the cursor; each row has levels and last_id."""
    ids = await story(sink, clock)
    clock.advance(1)
    calm = (await sink.log(trace_id="calm", system="browser", level="info")).json()["id"]

    async def listed(query: str) -> list[str]:
        traces = (await sink.http.get(f"/traces?{query}")).json()["traces"]
        return [t["trace_id"] for t in traces]

    assert await listed("level=error") == ["story"]
    assert await listed("system=worker") == ["story"]
    assert await listed("system=browser") == ["calm", "story"]
    assert await listed(f"since={ids[-1]}") == ["calm"]
    assert await listed("limit=1") == ["calm"]
    rows = (await sink.http.get("/traces")).json()["traces"]
    assert rows[0]["last_id"] == calm
    assert rows[1]["levels"] == {"info": 1, "error": 1, "warn": 1}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=loud", "level"),
        ("system=Bad%20Name", "system"),
        ("since=not-an-id", "since"),
        ("q=" + "x" * 201, "q"),
    ],
)
async def test_a_bad_filter_is_a_400_naming_it(sink: AppClient, query: str, field: str) -> None:
    """Each parameter is checked before the store is read."""
    await sink.log(trace_id="story")
    for path in ("/logs/story", "/traces"):
        if field == "q" and path == "/traces":
            continue
        response = await sink.http.get(f"{path}?{query}")
        assert (response.status_code, response.json()["field"]) == (400, field)


async def test_a_trace_named_live_is_a_trace(sink: AppClient) -> None:
    """/logs/live reads the trace called "live"; only /logs/{id}/live is a stream."""
    await sink.log(trace_id="live", message="just a name")
    document = (await sink.http.get("/logs/live")).json()
    assert [e["message"] for e in document["entries"]] == ["just a name"]
