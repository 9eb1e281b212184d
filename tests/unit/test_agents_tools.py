"""The tools' logic (agents/tools.py, agents/wait.py) over a reader that answers from lists: how
answers are bounded and cut, what each says when there is nothing, how refusals name the field.

The reader here stands in for the read routes' answers (their shapes as http-api.md gives them);
that the routes really answer so is pinned over both transports in tests/integration/test_mcp.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from tracesink.agents import tools, wait
from tracesink.agents.tools import MAX_ANSWER_CHARS
from tracesink.errors import ValidationError

NOW_MS = 1_800_000_000_000
T0 = "2027-01-15T08:00:00.000Z"


def entry(n: int, message: str = "", **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{NOW_MS:012x}{n:08x}",
        "system": "worker",
        "level": "log",
        "message": message or f"entry {n}",
        "timestamp": T0,
        "trace_id": "t",
        **fields,
    }


class ListReader:
    """Answers from prepared traces; ``gone`` traces are listed but read as expired."""

    def __init__(
        self,
        traces: dict[str, list[dict[str, Any]]],
        gone: frozenset[str] = frozenset(),
        live: list[dict[str, Any]] | None = None,
        document: Mapping[str, Any] | None = None,
    ) -> None:
        self._traces, self._gone, self._live = traces, gone, live or []
        self._document = dict(document or {})

    async def traces(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        listed = [
            {"trace_id": t, "count": len(items), "last_seen": T0, "last_id": "0" * 20}
            for t, items in self._traces.items()
        ]
        return listed[: int(params.get("limit", "50"))]

    async def trace(self, trace_id: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        if trace_id in self._gone or trace_id not in self._traces:
            return None
        text = params.get("q", "").lower()
        items = [i for i in self._traces[trace_id] if text in str(i.get("message", "")).lower()]
        return {
            "trace_id": trace_id,
            "total": len(self._traces[trace_id]),
            "entries": items,
            "expires_at": None,
            "dropped": {"total": 0},
            "trimmed": 0,
            **self._document,
        }

    @contextlib.asynccontextmanager
    async def live(
        self, trace_id: str | None, params: Mapping[str, str]
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async def entries() -> AsyncIterator[dict[str, Any]]:
            for item in self._live:
                yield item

        yield entries()


async def test_find_traces_skips_what_expired_or_does_not_match_and_stops_at_limit() -> None:
    """A trace gone between list and read, or without the text, is left out; the answer stops
    at ``limit`` traces and says how many entries hold the text."""
    reader = ListReader(
        {
            "gone": [entry(1)],
            "plain": [entry(2, "nothing here")],
            "hit-1": [entry(3, "Timeout talking to db")],
            "hit-2": [entry(4, "timeout again")],
            "hit-3": [entry(5, "timeout thrice")],
        },
        gone=frozenset({"gone"}),
    )
    found = await tools.find_traces(reader, NOW_MS, "all", text="timeout", limit=2)
    assert found.startswith("2 trace(s) with entries in the store (q=timeout)")
    assert "trace hit-1" in found
    assert "trace hit-2" in found
    assert "hit-3" not in found
    assert "1 contain 'timeout'" in found


async def test_find_traces_with_nothing_says_how_to_widen() -> None:
    """No trace: the answer says to widen the window and that traces expire."""
    answer = await tools.find_traces(ListReader({}), NOW_MS)
    assert "No traces. Widen the window (since='1h'" in answer


async def test_get_trace_shows_markers_and_what_an_entry_carries() -> None:
    """Drop and trimmed markers are in the header and in place; an entry's user and the
    truncation at ingest are shown."""
    marker = {"kind": "dropped", "message": "3 entries dropped (3 by the trace quota)"}
    items = [entry(1, user_id="u-42", truncated=True), marker, entry(2)]
    reader = ListReader(
        {"t": items}, document={"dropped": {"total": 3}, "trimmed": 7, "expires_at": T0}
    )
    story = await tools.get_trace(reader, "t")
    assert "dropped: 3 entries refused by the rate limits" in story
    assert "trimmed: the 7 oldest items are gone" in story
    assert "+0.000s worker log entry 1 (truncated at ingest)\n    user: u-42" in story
    assert "-- 3 entries dropped (3 by the trace quota) --" in story
    assert f"expires: {T0}" in story


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: tools.get_trace(r, "t", limit=0), "limit"),
        (lambda r: tools.get_trace(r, "t", fmt="xml"), "format"),
        (lambda r: tools.search(r, NOW_MS, ""), "text"),
        (lambda r: wait.wait_for_entries(r, NOW_MS, timeout_s=61), "timeout_s"),
    ],
)
async def test_a_bad_argument_is_refused_naming_it(call: Any, field: str) -> None:
    """Out-of-range limits, an unknown format, empty search text, a wait over 60 s."""
    with pytest.raises(ValidationError) as refused:
        await call(ListReader({"t": [entry(1)]}))
    assert refused.value.field == field


async def test_search_stops_at_its_limit_and_says_how_many_more() -> None:
    """Beyond ``limit`` entries the answer says how many more matched; json gives the same
    entries with the count of what was cut."""
    reader = ListReader({"t": [entry(n, f"match {n}") for n in range(5)]})
    text = await tools.search(reader, NOW_MS, "match", limit=3)
    assert "[2 more beyond limit=3" in text
    as_json = await tools.search(reader, NOW_MS, "match", limit=3, fmt="json")
    assert as_json.endswith('"cut":0}')


async def test_a_wait_cut_by_size_resumes_from_the_newest_entry_shown() -> None:
    """When what arrived exceeds the answer, the cursor is the newest entry SHOWN, so the next
    wait returns what was cut."""
    big = [entry(n, "x" * 400) for n in range(300)]
    answer = await wait.wait_for_entries(ListReader({}, live=big), NOW_MS, since="all")
    assert len(answer) <= MAX_ANSWER_CHARS
    shown = answer.count("worker log [t] xxx")
    assert 0 < shown < 300
    assert f'more]\nWait for more: wait_for_entries(since="{big[shown - 1]["id"]}"' in answer


async def test_a_wait_whose_stream_ends_says_the_service_is_stopping() -> None:
    """A stream that ends before anything came (the service stopping) says so, with the cursor
    to wait again from."""
    answer = await wait.wait_for_entries(
        ListReader({}), NOW_MS, trace_id="t", since="0" * 20, timeout_s=5
    )
    assert answer == (
        "No new entries in trace t: the service is stopping. "
        f'Wait again with since="{"0" * 20}" to miss nothing.'
    )


async def test_latest_error_with_none_says_so() -> None:
    """No trace with an error: the prompt's text says so."""
    assert await tools.latest_error(ListReader({}), NOW_MS) == "No trace has an error since 1h."


def test_long_answers_are_cut_with_a_note() -> None:
    """Text and JSON answers stop before the limit and say how much was left out."""
    lines = ["y" * 1000] * 100
    text = tools._cut_text(lines, "the filters")
    assert len(text) <= MAX_ANSWER_CHARS
    assert text.endswith("more lines; narrow the filters]")
    cut_json = tools._cut_json([{"v": "z" * 1000}] * 100)
    assert len(cut_json) <= MAX_ANSWER_CHARS
    assert '"cut":' in cut_json
    assert not cut_json.endswith('"cut":0}')
