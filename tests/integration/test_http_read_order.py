"""GET /logs/{trace_id}: a trace by event time (the default) or as it arrived (order=arrival);
cursors stay on arrival ids, so a late entry with an early time is never skipped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import AppClient, FakeClock
from tracesink.times import iso_ms


async def arrive_late(sink: AppClient, clock: FakeClock) -> list[str]:
    """Three entries stored in the order c, a, b whose own times say a, b, c; their ids."""
    now_ms = round(clock.now * 1000)
    ids = []
    for message, offset_ms in [("c", 3000), ("a", 1000), ("b", 2000)]:
        clock.advance(5)
        response = await sink.log(trace_id="late", message=message, timestamp=now_ms + offset_ms)
        ids.append(response.json()["id"])
    return ids


async def messages(sink: AppClient, query: str = "") -> list[str]:
    document = (await sink.http.get(f"/logs/late{query}")).json()
    return [e["message"] for e in document["entries"]]


async def test_a_trace_reads_by_event_time_unless_arrival_is_asked(
    sink: AppClient, clock: FakeClock
) -> None:
    """The default (and order=event) sorts by timestamp; order=arrival is the stored order;
    the answer says which order it is in, and each entry keeps both of its times."""
    ids = await arrive_late(sink, clock)
    assert await messages(sink) == ["a", "b", "c"]
    assert await messages(sink, "?order=event") == ["a", "b", "c"]
    assert await messages(sink, "?order=arrival") == ["c", "a", "b"]
    document = (await sink.http.get("/logs/late")).json()
    assert document["order"] == "event"
    assert document["last_id"] == ids[-1]  # the cursor is the newest arrival, not the last row
    first = document["entries"][0]
    assert first["timestamp"] < first["received_at"]


async def test_a_cursor_never_skips_a_late_entry_with_an_early_time(
    sink: AppClient, clock: FakeClock
) -> None:
    """A reader that took last_id, then polls with since=, gets the entry that arrived after it
    even though its event time is older than everything it had already seen."""
    await arrive_late(sink, clock)
    cursor = (await sink.http.get("/logs/late")).json()["last_id"]
    clock.advance(5)
    early = round(clock.now * 1000) - 60_000
    await sink.log(trace_id="late", message="earliest", timestamp=early)
    newer = (await sink.http.get(f"/logs/late?since={cursor}")).json()
    assert [e["message"] for e in newer["entries"]] == ["earliest"]
    assert await messages(sink) == ["earliest", "a", "b", "c"]


async def test_a_drop_marker_sits_at_its_first_refusal(
    make_app: Callable[..., Any], clock: FakeClock
) -> None:
    """Entries refused by the trace quota leave a marker between the entries whose times
    surround its first refusal; its message gives first and last."""
    sink: AppClient = await make_app(trace_limit=2)
    start = round(clock.now * 1000)
    await sink.log(trace_id="late", message="a", timestamp=start - 10)
    await sink.log(trace_id="late", message="c", timestamp=start + 10_000)
    clock.advance(1)
    assert (await sink.log(trace_id="late", message="refused")).status_code == 429
    document = (await sink.http.get("/logs/late")).json()
    shown = [e.get("message") if "kind" not in e else "gap" for e in document["entries"]]
    assert shown == ["a", "gap", "c"]
    assert document["entries"][1]["first"] == iso_ms(start + 1000)


async def test_a_bad_order_is_a_400_naming_it(sink: AppClient) -> None:
    """Only event and arrival are orders."""
    await sink.log(trace_id="late")
    response = await sink.http.get("/logs/late?order=newest")
    assert (response.status_code, response.json()["field"]) == (400, "order")
