"""Small requests that cost a real ``tracesink serve`` seconds of event loop or gigabytes of
memory (issue 21 items 1 and 5), on the memory and Redis stores: while each is in flight,
another client's ``/health`` answers within a second and the process's peak resident set grows
by less than RSS_GROWTH_BOUND.

Measured before the fix (bench/hostile_stall.py, BENCHMARKS.md): the form's
``%(a)999999999s`` stalled the loop 1.2-3.7 s and grew the process by 2 GB, two such
specifiers 5.8-15 s and 4 GB, 330,000 form arguments 1.4 s and 330 MB, 330,000 empty OTLP/JSON
records 3.2-4.7 s, one OTLP/JSON record of 45,000 attributes ~1 s. After: at most ~70 ms and
~22 MB (msgspec's pass over the 1 MB of JSON, freed at once). One second leaves room for a
loaded 2-core machine and is still below every stall before the fix but the protobuf one (~0.1
s, bounded by the count now as well)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.support.service import Service
from tests.support.stall import FORM, Attack, attack_cost, attacks, form

pytestmark = pytest.mark.slow

STALL_BOUND_S = 1.0
RSS_GROWTH_BOUND = 64 * 1024 * 1024  # ~3x the largest growth measured after the fix
EXPECTED = {
    "form %(a)999999999s": 200,
    "form two such specifiers": 200,
    "form 330k args": 200,
    "otlp/json 330k empty records": 413,
    "otlp/protobuf 330k empty records": 413,
    "otlp/json 45k attributes": 200,
}


@pytest.mark.parametrize("attack", attacks(), ids=lambda attack: attack.name)
def test_a_hostile_request_neither_stalls_the_loop_nor_balloons(
    service: Service, attack: Attack
) -> None:
    """The attack gets its answer (200 for a form, which is stored truncated; 413 naming
    TRACESINK_MAX_BATCH_ITEMS for 330,000 OTLP records; 200 refusing the record whose values
    no context could hold), /health answers within STALL_BOUND_S throughout, and the peak
    resident set grows by less than RSS_GROWTH_BOUND."""
    cost = attack_cost(service.url, service.process.pid, attack)
    assert cost.status == EXPECTED[attack.name]
    assert cost.health_worst_s < STALL_BOUND_S, cost
    assert cost.rss_growth < RSS_GROWTH_BOUND, cost


def test_the_answers_name_what_was_refused(service: Service) -> None:
    """The OTLP count is refused naming TRACESINK_MAX_BATCH_ITEMS; the wide record is refused
    naming TRACESINK_MAX_CONTEXT_BYTES; the form's huge width is stored cut at the message
    limit, marked truncated."""
    by_name = {attack.name: attack for attack in attacks()}
    with httpx.Client(base_url=service.url, timeout=60) as client:
        count = by_name["otlp/json 330k empty records"]
        response = client.post(count.path, content=count.body, headers=count.headers)
        assert "TRACESINK_MAX_BATCH_ITEMS" in response.json()["message"]
        wide = by_name["otlp/json 45k attributes"]
        partial = client.post(wide.path, content=wide.body, headers=wide.headers).json()
        assert partial["partialSuccess"]["rejectedLogRecords"] == "1"
        assert "TRACESINK_MAX_CONTEXT_BYTES" in partial["partialSuccess"]["errorMessage"]
        width = by_name["form %(a)999999999s"]
        stored = client.post(width.path, content=width.body, headers=width.headers).json()
        entries = client.get(f"/logs/{stored['trace_id']}").json()["entries"]
        [entry] = [e for e in entries if e["id"] == stored["id"]]
        assert entry["truncated"] is True
        assert entry["message"].startswith(" " * 1000)


@pytest.mark.parametrize(
    ("msg", "args", "stored"),
    [
        ("%c!", "(1114112,)", "%c! (1114112,)"),  # 0x110000: `%` raises OverflowError
        ("%c!", "(-1,)", "%c! (-1,)"),
        ("got %s", r"('x\ud800y',)", "got x\ufffdy"),  # a lone surrogate in args
        ("%s and %s", "(1,)", "%s and %s (1,)"),
    ],
)
def test_forms_that_made_percent_raise_are_stored_readable(
    service: Service, msg: str, args: str, stored: str
) -> None:
    """A form whose `msg % args` raises, or renders a lone surrogate, is stored (200, never a
    500), and its trace reads back (200) with the message as sent or with U+FFFD."""
    with httpx.Client(base_url=service.url, timeout=30) as client:
        response = client.post("/log", content=form(msg, quote(args)), headers=FORM)
        assert response.status_code == 200, response.text
        read = client.get(f"/logs/{response.json()['trace_id']}")
        assert read.status_code == 200
        [entry] = [e for e in read.json()["entries"] if e["id"] == response.json()["id"]]
        assert entry["message"] == stored
