"""``memory://``: the embedded store, for a laptop and for tests.

The same semantics as the Redis store's Lua script, in Python: ``write_batch`` never awaits, so on
one event loop it is atomic just as a script is on Redis. Nothing is shared between processes:
several instances need the Redis store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import msgspec

from tracesink.limits import Decision, LocalCounters, Policy
from tracesink.model import PreparedEntry
from tracesink.store.base import TraceRecord, TraceSummary, Usage, new_marker, summarize, trim
from tracesink.store.items import decode_item
from tracesink.store.pinning import Pin, PinBounds, PinOutcome, PinStatus

SWEEP_EVERY_MS = 60_000


class MemoryStore:
    def __init__(self, url: str, policy: Policy) -> None:
        self._policy = policy
        self._counters = LocalCounters(policy)
        self.usage = Usage()  # no commands: nothing leaves the process
        self._lists: dict[str, list[bytes]] = {}  # oldest first
        self._expires_ms: dict[str, int] = {}  # the normal expiry: ttl after the last write
        self._pins: dict[str, Pin] = {}  # a pinned trace lives to the later of the two
        self._last_seen_ms: dict[str, int] = {}
        self._swept_ms = 0
        # Ids of batches stored, by the window they were written in, so a replay is recognised:
        # write_batch.lua's b: fields, which live in their window's hash and expire with it two
        # windows later. Kept as long here, not for ever: the writer names every batch, so a set
        # of all of them grew by one id per batch for the life of the process.
        self._stored: dict[int, set[str]] = {}
        # Convex request id -> trace id, by window, the current and the previous one kept: the
        # req: hashes of the Redis store (link_requests).
        self._requests: dict[int, dict[str, str]] = {}

    display = "memory://"
    max_in_flight = 1  # a step never awaits: more in flight would change nothing
    shared = False  # Store.shared: this process's own memory

    def __repr__(self) -> str:
        return "MemoryStore('memory://')"

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        policy = self._policy
        self._sweep(now_ms)
        decisions = self._counters.decide([(e.trace_id, e.system) for e in entries], now_ms)
        self.usage.add_stored(entries, decisions)
        if batch_id is not None and any(d.admitted for d in decisions):
            self._remember(batch_id, now_ms, now_ms)
        expires = now_ms + policy.ttl_ms
        written: set[str] = set()
        for entry, decision in zip(entries, decisions, strict=True):
            if decision.limited_by is None:
                self._live_list(entry.trace_id, now_ms).append(entry.payload)
                self._last_seen_ms[entry.trace_id] = now_ms
            elif self._has_list(entry.trace_id, now_ms):
                self._record_drop(self._lists[entry.trace_id], decision.limited_by, now_ms)
            else:
                self.usage.drops_unmarked += 1  # a refusal never creates a trace
                continue
            self._expires_ms[entry.trace_id] = expires
            written.add(entry.trace_id)
        for trace_id in written:  # once per trace and batch, as the script trims
            trim(self._lists[trace_id], policy.max_trace_entries)
        return decisions

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        if batch_id in self._stored.get(written_ms // self._policy.window_ms, ()):
            return False
        self._remember(batch_id, written_ms, now_ms)
        self.usage.bytes_stored += sum(len(e.payload) for e in entries)
        self._counters.count([(e.trace_id, e.system) for e in entries], now_ms)
        for entry in entries:
            self._live_list(entry.trace_id, now_ms).append(entry.payload)
            self._last_seen_ms[entry.trace_id] = now_ms
            self._expires_ms[entry.trace_id] = now_ms + self._policy.ttl_ms
        for trace_id in {e.trace_id for e in entries}:
            trim(self._lists[trace_id], self._policy.max_trace_entries)
        return True

    def _remember(self, batch_id: str, written_ms: int, now_ms: int) -> None:
        window_ms = self._policy.window_ms
        self._stored.setdefault(written_ms // window_ms, set()).add(batch_id)
        oldest_kept = now_ms // window_ms - 1
        for window in [w for w in self._stored if w < oldest_kept]:
            del self._stored[window]

    def _ends(self, trace_id: str) -> int | None:
        """When the trace's list expires (None: it has none): as pin.lua sets it, the later of
        its normal expiry and its pin's end."""
        ends = self._expires_ms.get(trace_id)
        pin = self._pins.get(trace_id)
        return ends if ends is None or pin is None else max(ends, pin.until_ms)

    def _has_list(self, trace_id: str, now_ms: int) -> bool:
        return (self._ends(trace_id) or now_ms) > now_ms

    def _live_list(self, trace_id: str, now_ms: int) -> list[bytes]:
        ends = self._ends(trace_id)
        if ends is not None and ends <= now_ms:
            self._forget(trace_id)
        return self._lists.setdefault(trace_id, [])

    @staticmethod
    def _record_drop(items: list[bytes], level: str, now_ms: int) -> None:
        last = decode_item(items[-1], len(items) - 1) if items else {}
        if last.get("kind") == "dropped":
            last["count"] += 1
            last["by"][level] += 1
            last["last"] = now_ms
            items[-1] = msgspec.json.encode(last)
        else:
            items.append(msgspec.json.encode(new_marker(level, now_ms)))

    def _forget(self, trace_id: str) -> None:
        self._lists.pop(trace_id, None)
        self._expires_ms.pop(trace_id, None)
        self._last_seen_ms.pop(trace_id, None)
        self._pins.pop(trace_id, None)

    def _sweep(self, now_ms: int) -> None:
        """Drop expired traces, at most once a minute."""
        if now_ms - self._swept_ms < SWEEP_EVERY_MS:
            return
        self._swept_ms = now_ms
        for trace_id in [t for t in self._expires_ms if (self._ends(t) or 0) <= now_ms]:
            self._forget(trace_id)

    async def read_trace(self, trace_id: str, now_ms: int) -> TraceRecord | None:
        expires = self._ends(trace_id)
        if expires is None or expires <= now_ms:
            return None
        return TraceRecord(
            list(self._lists[trace_id]), expires, self._pinned_until(trace_id, now_ms)
        )

    def _pinned_until(self, trace_id: str, now_ms: int) -> int | None:
        pin = self._pins.get(trace_id)
        return pin.until_ms if pin is not None and pin.until_ms > now_ms else None

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        if not self._has_list(trace_id, now_ms):
            return PinOutcome(PinStatus.NO_TRACE)
        others = [p for p in await self.pins(now_ms) if p.trace_id != trace_id]
        size = sum(map(len, self._lists[trace_id]))
        if len(others) + 1 > bounds.max_pins:
            return PinOutcome(PinStatus.TOO_MANY, held=len(others))
        held_bytes = sum(p.bytes for p in others)
        if held_bytes + size > bounds.max_bytes:
            return PinOutcome(PinStatus.TOO_LARGE, size, held_bytes)
        self._pins[trace_id] = Pin(trace_id, until_ms, size, now_ms)
        return PinOutcome(PinStatus.PINNED, size, expires_at_ms=self._ends(trace_id) or until_ms)

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        pin = self._pins.pop(trace_id, None)
        return pin is not None and pin.until_ms > now_ms

    async def pins(self, now_ms: int) -> list[Pin]:
        for trace_id in [t for t, p in self._pins.items() if p.until_ms <= now_ms]:
            del self._pins[trace_id]  # ended: the trace keeps its normal expiry
        return sorted(self._pins.values(), key=lambda p: (p.until_ms, p.trace_id), reverse=True)

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        if self._has_list(trace_id, now_ms) and not replace:
            return False
        self._lists[trace_id] = list(items)
        self._expires_ms[trace_id] = now_ms + self._policy.ttl_ms
        self._last_seen_ms[trace_id] = now_ms
        self.usage.bytes_stored += sum(len(item) for item in items)
        return True

    async def recent_traces(self, limit: int, now_ms: int) -> list[TraceSummary]:
        # Listed while the last admission is within the TTL, as the Redis index does; a trace
        # kept alive by refusals alone drops out of the list (it is still readable by id).
        # A pinned trace stays listed after that, after every unpinned one (it is older).
        oldest = now_ms - self._policy.ttl_ms
        live = [
            (seen, trace_id)
            for trace_id, seen in self._last_seen_ms.items()
            if (seen > oldest or self._pinned_until(trace_id, now_ms))
            and (self._ends(trace_id) or 0) > now_ms
        ]
        live.sort(reverse=True)
        return [
            replace(
                summarize(t, self._lists[t], seen), pinned_until_ms=self._pinned_until(t, now_ms)
            )
            for seen, t in live[:limit]
        ]

    async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
        window = now_ms // self._policy.window_ms
        self._requests.setdefault(window, {}).update(links)
        for old in [w for w in self._requests if w < window - 1]:
            del self._requests[old]

    async def traces_of_requests(self, request_ids: Sequence[str], now_ms: int) -> dict[str, str]:
        window = now_ms // self._policy.window_ms
        found: dict[str, str] = {}
        for known in (self._requests.get(window - 1, {}), self._requests.get(window, {})):
            found.update((r, known[r]) for r in request_ids if r in known)  # the newer wins
        return found

    async def ping(self) -> None:
        return None

    async def publish_commands(self, now_ms: int) -> None:
        return None  # no commands leave the process: nothing to count

    async def close(self) -> None:
        return None
