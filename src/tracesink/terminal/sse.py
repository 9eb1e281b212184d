"""Reading server-sent events from a line iterator: what ``tracesink tail`` (and the tests) use.

The format (WHATWG HTML, "Server-sent events"): lines ``field: value``; a blank line ends an
event; lines starting with ``:`` are comments (keep-alives); ``data`` lines join with newlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    event: str  # "message" unless the server named it
    data: str
    id: str | None  # the id this event set, if any


def events(lines: Iterable[str]) -> Iterator[Event]:
    event, event_id = "message", None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield Event(event, "\n".join(data), event_id)
            event, event_id, data = "message", None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            event_id = value
