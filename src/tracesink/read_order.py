"""The order a trace is told in: by when things happened (event time), arrival breaking ties.

A trace's list holds items in arrival order (``store/base.py``). Reads present them by event
time, sorted here, in Python, over the items the store read already: the sort costs no store
command, and a trace is bounded (its list is capped), so it costs little time either.

- An entry's event time is its ``timestamp``: the sender's time (corrected by the sender's clock
  offset when the request carried its clock, ``ingest/clock.py``), else its receive time. Every
  ingester writes it as ``iso_ms`` does (``YYYY-MM-DDTHH:MM:SS.mmmZ``), a fixed width that sorts
  as text: no parsing is needed.
- A drop marker sits at its FIRST refusal (``first``, a receive time in ms): the gap starts
  there, and its message says until when it lasted.
- An item without a readable event time (an entry a reader cannot decode, or one without a
  well-formed ``timestamp``) keeps its arrival neighbour: it sorts with the item that arrived
  just before it (first when nothing did), so it shows where it was stored.
- Equal times keep arrival order (the sort is stable), so a batch stamped in one millisecond
  reads as it was sent.

Cursors (``since``, ``last_id``, ``Last-Event-ID``) stay on entry ids, which are arrival order:
an entry that arrives late with an early time is still newer than every cursor taken before it
arrived, so no cursor skips it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tracesink.times import iso_ms

ORDERS = ("event", "arrival")
ORDER_RULE = "order must be event (by when it happened, the default) or arrival (as stored)"
_ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def event_key(item: dict[str, Any]) -> str | None:
    """The text an item sorts by, or None when it has no readable event time."""
    if item.get("kind") == "dropped":
        first = item.get("first")
        if isinstance(first, int) and first >= 0:
            return iso_ms(first)
        return first if isinstance(first, str) and _ISO_MS.fullmatch(first) else None
    timestamp = item.get("timestamp")
    if isinstance(timestamp, str) and _ISO_MS.fullmatch(timestamp):
        return timestamp
    return None


def event_order(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` (in arrival order) by event time; arrival order breaks ties."""
    keyed: list[tuple[str, int, dict[str, Any]]] = []
    previous = ""  # an item without a time sorts with the one that arrived before it
    for arrival, item in enumerate(items):
        key = event_key(item)
        if key is None:
            key = previous
        previous = key
        keyed.append((key, arrival, item))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [item for _, _, item in keyed]


def in_order(items: Sequence[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    return event_order(items) if order == "event" else list(items)
