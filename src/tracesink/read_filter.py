"""What a reader asked to see: filters over a trace's entries and over the recent-traces list.

Pure functions over decoded list items, applied after the store read: the store keeps one list
per trace and no secondary index, so a filter costs no store command, only the read it filters.

The cursor is an entry id. Ids are time-sortable hex strings (``ids.py``), so ``since=<id>`` means
"id greater than": a client that remembers the last id it saw fetches only what is newer. Drop
markers have no id; one is kept when its last refusal is later than the cursor's time, so a gap
that grew since is shown again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from tracesink.model import LOG_LEVELS
from tracesink.store.base import TraceSummary
from tracesink.store.items import UNDECODABLE

# An entry id: 12 hex digits of milliseconds, then process and counter digits (ids.py). Other
# writers (the edge Worker) use the same shape; any lowercase hex of that length sorts by time.
ENTRY_ID = re.compile(r"[0-9a-f]{12,64}")
ENTRY_ID_RULE = "an entry id: 12 to 64 lowercase hex digits, as returned in an entry's id"
SEVERITY = {level: rank for rank, level in enumerate(LOG_LEVELS)}


def id_ms(entry_id: str) -> int:
    """The milliseconds an entry id starts with."""
    return int(entry_id[:12], 16)


def is_marker(item: dict[str, Any]) -> bool:
    """A drop marker, or the trimmed marker of a list that outgrew its cap (docs/keys.md)."""
    return item.get("kind") in MARKER_KINDS


MARKER_KINDS = ("dropped", "trimmed")


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries of a trace to return. Every part left None matches everything."""

    level: str | None = None  # this severity or worse (log < info < warn < error)
    systems: frozenset[str] | None = None  # any of these systems
    text: str | None = None  # case-insensitive, in message, stack, user_id or context
    since: str | None = None  # ids greater than this one

    @property
    def is_empty(self) -> bool:
        return self.level is None and self.systems is None and self.text is None and not self.since

    def matches(self, item: dict[str, Any]) -> bool:
        if item.get("kind") == UNDECODABLE:
            return self.since is None  # whatever it was, it may be what the filter looks for
        if is_marker(item):
            # A gap is shown under every filter: the refused entries may have been anything.
            return self.since is None or int(item.get("last", 0)) > id_ms(self.since)
        if self.since is not None and str(item.get("id", "")) <= self.since:
            return False
        if self.level is not None and SEVERITY.get(item.get("level", ""), 0) < SEVERITY[self.level]:
            return False
        if self.systems is not None and item.get("system") not in self.systems:
            return False
        return self.text is None or self.text.lower() in _searchable(item)

    def apply(self, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [item for item in items if self.matches(item)]


def _searchable(item: dict[str, Any]) -> str:
    parts = [str(item.get(name, "")) for name in ("message", "stack", "user_id")]
    if "context" in item:
        parts.append(msgspec.json.encode(item["context"]).decode())
    return "\n".join(parts).lower()


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Which traces of the recent list to return."""

    level: str | None = None  # has an entry of this severity or worse
    systems: frozenset[str] | None = None  # has an entry from any of these systems
    since: str | None = None  # has an entry with an id greater than this one

    def matches(self, summary: TraceSummary) -> bool:
        if self.since is not None and (summary.last_id or "") <= self.since:
            return False
        if self.systems is not None and not self.systems.intersection(summary.systems):
            return False
        if self.level is None:
            return True
        worst = SEVERITY[self.level]
        return any(SEVERITY.get(level, 0) >= worst for level, n in summary.levels.items() if n)
