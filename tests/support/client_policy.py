"""One scenario for what the three clients (the browser script, the JS SDK, the Python handler)
do when a limit refuses their entries, so that each is tested the same way, against the policy
docs/http-api.md states ("Refused entries").

A real ``tracesink serve`` with ``LIMITED`` (3 entries per trace in a 12 s window). The client,
in one trace, with batches large enough that each step is one request:

1. logs ``FILL`` (5 entries) and flushes: a 200 that stores 3 and refuses 2 (trace limit);
2. logs ``REFUSED`` (2) and flushes: a 429 with Retry-After (the trace is full);
3. logs ``AFTER`` at once and flushes: it is held, since the client pauses for Retry-After;
4. waits until the client has delivered ``AFTER`` by itself, once the pause is over.

``check`` then asserts what the policy says: what the server stored counts as sent, what a limit
refused as dropped ``rate_limited`` (both inside a 200 and by a 429); nothing refused is resent
(had it been, the first resent entry would take the one place the window frees for ``AFTER``);
the gap shows once, as the server's own marker, not again as a client report.

Why a 12 s window: after a trace's 3rd entry the sliding window admits again no sooner than a
third of a window later (12 / 3 = 4 s), the most that may pass between steps 1 and 2 on a loaded
machine; the pause is then at most 4/3 of a window (16 s).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.service import Service, entries_if_any

LIMITED = {"TRACESINK_TRACE_LIMIT": "3", "TRACESINK_WINDOW_S": "12"}
FILL = [f"fill {i}" for i in range(5)]
REFUSED = ["refused 0", "refused 1"]
AFTER = "after"
DELIVERY_TIMEOUT_S = 40.0  # the longest pause (16 s), with room for a loaded machine


@dataclass(frozen=True)
class Counts:
    """A client's counts: entries the server stored, and entries dropped by reason."""

    sent: int
    dropped: dict[str, int]

    @classmethod
    def of(cls, sent: int, dropped: Mapping[str, int]) -> Counts:
        return cls(sent, {reason: n for reason, n in dropped.items() if n})


@dataclass(frozen=True)
class Observed:
    first: Counts  # after step 1
    second: Counts  # after step 2
    held: bool  # in step 3: AFTER was still waiting in the client
    stored_while_held: list[str]  # the trace's messages in step 3
    final: Counts  # after step 4


def messages(entries: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in entries if "kind" not in e]


def check(service: Service, trace_id: str, observed: Observed) -> None:
    assert observed.first == Counts(3, {"rate_limited": 2})
    assert observed.second == Counts(3, {"rate_limited": 4})
    assert observed.held
    assert observed.stored_while_held == FILL[:3]
    assert observed.final == Counts(4, {"rate_limited": 4})
    deadline = time.monotonic() + 30  # the server writes its marker within seconds (2 s timer)
    while True:
        entries = entries_if_any(service, trace_id)
        markers = [(e["count"], e["by"]["trace"]) for e in entries if e.get("kind") == "dropped"]
        if markers == [(4, 4)] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert messages(entries) == [*FILL[:3], AFTER]  # nothing refused came back; no client report
    assert markers == [(4, 4)]  # one gap, 4 entries, all by the trace quota
