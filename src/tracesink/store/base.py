"""The ``Store`` protocol every backend implements, and the read-side shapes they return.

A store's write is ONE atomic step per batch: decide every entry against the three limit levels,
append the admitted ones to ``logs:{trace_id}``, refresh TTLs and record drops. Only then is any
request of that batch answered.

A trace's list holds entries and drop markers in arrival order. A marker
(``{"kind": "dropped", "count", "by": {level: n}, "first", "last"}``) is written where entries
were refused and updated in place while refusals continue, so a reader sees the gap where it
happened. A list that outgrows ``Policy.max_trace_entries`` loses its oldest items, and a
trimmed marker (``{"kind": "trimmed", "count"}``) at its oldest end says how many.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

import msgspec

from tracesink.limits import LIMIT_LEVELS, Decision
from tracesink.model import MANUAL, PreparedEntry
from tracesink.store.items import decode_items, is_entry
from tracesink.store.pinning import Pin, PinBounds, PinOutcome
from tracesink.trace_preview import preview_of


@dataclass(slots=True)
class Usage:
    """What a store has spent since it was opened, as a hosted Redis bills it."""

    commands: int = 0  # every command sent, each redis.call() inside a script included
    bytes_sent: int = 0  # keys and arguments sent with those commands
    bytes_stored: int = 0  # list items written: admitted entries and replayed ones
    # Refusals of a trace that had no list: counted here, since no key is created for them.
    drops_unmarked: int = 0
    # The shared daily count (every instance's commands on the database, kept by the script):
    # its UTC day, its value at the last write that counted, and ``commands`` at that point.
    shared_day: int = -1
    shared_count: int = 0
    shared_mark: int = 0

    def commands_today(self, day: int) -> int | None:
        """Every instance's commands of UTC ``day`` as far as known (the shared count plus what
        this instance spent since); None when no write has counted them today."""
        if day != self.shared_day:
            return None
        return self.shared_count + self.commands - self.shared_mark

    def add_stored(self, entries: Sequence[PreparedEntry], decisions: Sequence[Decision]) -> None:
        if not any(map(_LIMITED_BY, decisions)):
            # Every entry admitted (the usual step): summed in C, not a Python step per entry
            # (callgrind: 33,100 -> 22,200 instructions for 20 entries, 8,800 -> 6,000 for one).
            if len(entries) != len(decisions):
                raise ValueError("a decision for every entry, and an entry for every decision")
            self.bytes_stored += sum(map(len, map(_PAYLOAD, entries)))
            return
        self.bytes_stored += sum(
            len(e.payload) for e, d in zip(entries, decisions, strict=True) if d.admitted
        )


_LIMITED_BY, _PAYLOAD = attrgetter("limited_by"), attrgetter("payload")


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """A trace as read from a store: its list items oldest first, and when it expires."""

    items: list[bytes]
    expires_at_ms: int | None
    pinned_until_ms: int | None = None  # the end of its pin, when pinned (store/pinning.py)


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: str
    count: int
    systems: list[str]
    last_seen_ms: int
    # Derived from the same items, for the read filters and the live stream; left out of
    # equality, which is about what is listed.
    levels: dict[str, int] = field(default_factory=dict, compare=False)  # entries per level
    last_id: str | None = field(default=None, compare=False)  # the greatest entry id
    preview: str | None = field(default=None, compare=False)  # trace_preview.py
    pinned_until_ms: int | None = None  # the end of its pin, when pinned


class Store(Protocol):
    @property
    def max_in_flight(self) -> int:
        """Store steps the writer may have in flight at once (never two holding one trace):
        more than one only pays where a round trip is long (Upstash over HTTP)."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other processes may write to this store too (Redis, Upstash), so that what
        this instance did not write itself reaches a live stream only by reading the store;
        False for a store inside this process (memory://)."""
        ...

    @property
    def display(self) -> str:
        """The store's URL with its secrets masked: what /health and the banner show."""
        ...

    @property
    def usage(self) -> Usage:
        """Commands and bytes spent so far; the cost accounting reads it."""
        ...

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        """Decide, append and expire one batch atomically; ``batch_id`` (fresh when None)
        lets ``replay_batch`` recognise a batch that was stored after all."""
        ...

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        """Append entries admitted (and spooled) during an outage, without deciding limits
        again but counting them; False when the batch was already stored (idempotent)."""
        ...

    async def read_trace(self, trace_id: str, now_ms: int) -> TraceRecord | None: ...

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        """Write ``items`` (validated entries and markers, oldest first) as the trace's list in
        one atomic step, with a fresh TTL, listed as seen now; nothing is decided or counted
        against the limits. False (nothing written) when the trace exists and not ``replace``."""
        ...

    async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
        """Remember Convex request id → trace id for every instance, for this window and the
        next (bounded: callers link only requests whose entries were admitted)."""
        ...

    async def traces_of_requests(self, request_ids: Sequence[str], now_ms: int) -> dict[str, str]:
        """The traces ``link_requests`` remembered for those of ``request_ids`` it knows."""
        ...

    async def recent_traces(self, limit: int, now_ms: int) -> list[TraceSummary]:
        """Traces admitted within the TTL, newest first, then pinned ones older than that."""
        ...

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        """Keep the trace until ``until_ms`` (replacing a pin it has), within ``bounds``."""
        ...

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        """End the trace's pin (its normal expiry back); False when it was not pinned."""
        ...

    async def pins(self, now_ms: int) -> list[Pin]:
        """Every live pin, the one ending last first."""
        ...

    async def ping(self) -> None: ...

    async def publish_commands(self, now_ms: int) -> None:
        """Add this instance's commands not yet in the store's shared daily count to it; a
        store without a shared count does nothing."""
        ...

    async def close(self) -> None: ...


def new_batch_id() -> str:
    return uuid.uuid4().hex


def new_marker(level: str, now_ms: int) -> dict[str, Any]:
    by = dict.fromkeys(LIMIT_LEVELS, 0)
    by[level] = 1
    return {"kind": "dropped", "count": 1, "by": by, "first": now_ms, "last": now_ms}


def trim(items: list[bytes], max_items: int) -> None:
    """Keep a list (oldest first) within ``max_items`` as write_batch.lua does: beyond it, the
    newest ``max_items - 1`` items stay, after a trimmed marker counting every item removed so
    far (docs/keys.md). Whenever it runs, the result is the same."""
    if len(items) <= max_items:
        return
    cut = len(items) - max_items + 1
    gone = items[:cut]
    removed = len(gone)
    if gone[0].startswith(TRIMMED_HEAD):
        removed += int(msgspec.json.decode(gone[0])["count"]) - 1
    marker = {"kind": "trimmed", "count": removed}
    items[:] = [msgspec.json.encode(marker), *items[cut:]]


TRIMMED_HEAD = b'{"kind":"trimmed"'


def recent_from_index(
    fields: Sequence[tuple[bytes, bytes]], limit: int, now_ms: int, ttl_ms: int
) -> list[tuple[str, int]]:
    """(trace_id, last admission ms), newest first (ties: descending trace_id), from the
    ``l:{trace_id}`` fields of the window hashes that cover the TTL; older than it excluded."""
    last: dict[str, int] = {}
    for name, value in fields:
        if name.startswith(b"l:"):
            trace_id, at = name[2:].decode(), int(value)
            if at > last.get(trace_id, -1):
                last[trace_id] = at
    live = [(at, trace_id) for trace_id, at in last.items() if at > now_ms - ttl_ms]
    live.sort(reverse=True)
    return [(trace_id, at) for at, trace_id in live[:limit]]


def summarize(trace_id: str, items: Sequence[bytes], last_seen_ms: int) -> TraceSummary:
    """A trace as the recent list shows it; items no reader can decode are not counted."""
    entries = [item for item in decode_items(items) if is_entry(item)]
    systems = sorted({entry.get("system", MANUAL) for entry in entries})
    levels: dict[str, int] = {}
    for entry in entries:
        levels[entry.get("level", "log")] = levels.get(entry.get("level", "log"), 0) + 1
    last_id = max((str(entry.get("id", "")) for entry in entries), default=None)
    preview = preview_of(entries)
    return TraceSummary(trace_id, len(entries), systems, last_seen_ms, levels, last_id, preview)
