"""The read side of every Redis-protocol store, and the seam both sides send commands through.

``ScriptReads`` holds what a store needs to send plain commands (``_commands``, its errors named
after the store) and everything that only reads: a trace, the recent traces, the pins' index and
the Convex request map. Reads wait for one of ``read_slots`` (their own connections), so a burst
of heavy reads queues instead of opening a connection each. The write side, the script calls
and the refusals held between them, is ``script_store.py``'s ``ScriptStore``, built on this.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from tracesink.errors import ReadsBusy, StorageError
from tracesink.limits import Policy
from tracesink.store.base import TraceRecord, TraceSummary, Usage, recent_from_index, summarize
from tracesink.store.keys import requests_key
from tracesink.store.pinning import Pin, parse_index
from tracesink.store.script_pins import last_written_ms, pin_key, pins_key
from tracesink.store.scripts import index_keys, logs_key

# How long a read waits for a read slot before it is answered 503 (ReadsBusy): long enough for a
# burst of heavy reads to drain, short enough that a client is told rather than left hanging.
READ_WAIT_S = 30.0


class ScriptReads(ABC):
    """Plain commands over ``_commands``, and the reads made of them."""

    shared = True  # Store.shared: a Redis database, any number of instances on it
    # Reads in flight at once, each on a connection of the reads' own (the writer has its own):
    # 300 concurrent /traces?limit=500 must queue here, not open 300 connections whose replies
    # then time out together while the event loop decodes (issue 21, item 8).
    read_slots = 4
    # The driver's own errors, each turned into a StorageError that names the store.
    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self, policy: Policy, display: str) -> None:
        self._policy = policy
        self._display = display  # the URL with its secrets masked
        self.usage = Usage()
        self._read_slots = asyncio.Semaphore(self.read_slots)
        self.read_wait_s = READ_WAIT_S

    @property
    def display(self) -> str:
        return self._display

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except self.driver_errors as exc:
            raise StorageError(f"could not {doing} on {self._display}: {exc}") from exc

    @abstractmethod
    async def _commands(
        self, commands: Sequence[Sequence[int | str | bytes]], *, writer: bool = False
    ) -> list[object]:
        """Send plain commands in one round trip (counted in ``usage``); their replies. Reads go
        on a reads' connection, inside ``_read_slot``; ``writer``: on the writer's own (the
        ingest path's lookups and writes, which reads must never hold up)."""

    @contextlib.asynccontextmanager
    async def _read_slot(self) -> AsyncIterator[None]:
        """Hold one of ``read_slots`` for a read, waiting up to ``read_wait_s`` for one.

        A full read capacity is a queue, never an outage: ReadsBusy (503 naming it), not a
        StorageError, so nothing is spooled and /health is not degraded by it."""
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can time out a wait that has
            # just been granted, and the slot would be lost for good.
            async with asyncio.timeout(self.read_wait_s):
                await self._read_slots.acquire()
        except TimeoutError:
            raise ReadsBusy(
                f"all {self.read_slots} read slots of the store stayed busy for "
                f"{self.read_wait_s:g} s (reads queue behind other reads); retry shortly"
            ) from None
        try:
            yield
        finally:
            self._read_slots.release()

    async def plain_commands(
        self, commands: Sequence[Sequence[int | str | bytes]], doing: str
    ) -> list[object]:
        """Commands of a feature with keys of its own (source maps), on a reads' slot,
        counted in ``usage`` like every other."""
        async with self._read_slot():
            with self._errors(doing):
                return await self._commands(commands)

    async def read_trace(self, trace_id: str, now_ms: int) -> TraceRecord | None:
        key = logs_key(self._policy, trace_id)
        await self.flush_drops(trace_id)  # this instance's drops not written yet: show them
        pin = pin_key(self._policy, trace_id)  # its list's slot: one pipeline on a Cluster too
        async with self._read_slot():
            with self._errors("read a trace"):
                items, pttl, pinned = await self._commands(
                    [["LRANGE", key, 0, -1], ["PTTL", key], ["GET", pin]]
                )
        listed, ttl = _strings(items), _integer(pttl)
        if not listed or ttl == -2:  # -2: expired between the two commands
            return None
        listed.reverse()  # stored newest first
        until = int(pinned) if isinstance(pinned, bytes) and pinned.isdigit() else None
        return TraceRecord(listed, now_ms + ttl if ttl >= 0 else None, until)

    @abstractmethod
    async def flush_drops(self, trace_id: str | None = None) -> None:
        """Write the refusals held for ``trace_id`` (every trace: None), so that a read shows
        them (ScriptStore)."""

    async def recent_traces(self, limit: int, now_ms: int) -> list[TraceSummary]:
        if limit <= 0:
            return []
        fields: list[tuple[bytes, bytes]] = []
        ranked: list[tuple[str, int]] = []
        # The pins' index rides with the first request: pinned traces stay listed after the
        # TTL, after every trace the window hashes list (they are older).
        pin_index: list[tuple[bytes, bytes]] | None = None
        async with self._read_slot():
            with self._errors("list recent traces"):
                for chunk in index_keys(self._policy, now_ms):
                    commands = [["HGETALL", key] for key in chunk]
                    if pin_index is None:
                        commands.append(["HGETALL", pins_key(self._policy)])
                    found = await self._commands(commands)
                    if pin_index is None:
                        pin_index = _pairs(found.pop())
                    fields += [pair for reply in found for pair in _pairs(reply)]
                    ranked = recent_from_index(fields, limit, now_ms, self._policy.ttl_ms)
                    if len(ranked) == limit:
                        break
                pinned = {p.trace_id: p for p in parse_index(pin_index or [], now_ms)}
                listed = {t for t, _ in ranked}
                extra = [(t, p.pinned_at_ms) for t, p in pinned.items() if t not in listed]
                ranked += extra[: limit - len(ranked)]
                if not ranked:
                    return []
                lists = await self._commands(
                    [["LRANGE", logs_key(self._policy, t), 0, -1] for t, _ in ranked]
                )
        summaries = [
            summarize(trace_id, items, at if trace_id in listed else last_written_ms(items, at))
            for (trace_id, at), items in zip(ranked, map(_strings, lists), strict=True)
            if items  # the list is gone: expired or evicted
        ]
        summaries = [
            replace(s, pinned_until_ms=pinned[s.trace_id].until_ms) if s.trace_id in pinned else s
            for s in summaries
        ]
        # Pinned traces past the index, newest first as well (ties: descending trace id).
        head = [s for s in summaries if s.trace_id in listed]
        tail = [s for s in summaries if s.trace_id not in listed]
        tail.sort(key=lambda s: (s.last_seen_ms, s.trace_id), reverse=True)
        return head + tail

    async def pins(self, now_ms: int) -> list[Pin]:
        """One HGETALL of the pins' index."""
        async with self._read_slot():
            with self._errors("list pins"):
                (index,) = await self._commands([["HGETALL", pins_key(self._policy)]])
        return parse_index(_pairs(index), now_ms)

    async def traces_of_requests(self, request_ids: Sequence[str], now_ms: int) -> dict[str, str]:
        """Two HMGETs in one round trip: this window's hash and the previous one's."""
        if not request_ids:
            return {}
        policy = self._policy
        window = now_ms // policy.window_ms
        keys = [requests_key(policy.key_prefix, w) for w in (window - 1, window)]
        with self._errors("look up Convex request ids"):
            replies = await self._commands(
                [["HMGET", key, *request_ids] for key in keys], writer=True
            )
        found: dict[str, str] = {}
        for reply in replies:  # the newer window last: it wins
            if not isinstance(reply, list) or len(reply) != len(request_ids):
                raise StorageError("HMGET answered something other than one value per field")
            found.update(
                (r, t.decode())
                for r, t in zip(request_ids, reply, strict=True)
                if isinstance(t, bytes)
            )
        return found


def _integer(reply: object) -> int:
    if not isinstance(reply, int):
        raise StorageError("a command answered something other than an integer")
    return reply


def _strings(reply: object) -> list[bytes]:
    if not isinstance(reply, list) or not all(isinstance(item, bytes) for item in reply):
        raise StorageError("a command answered something other than a list of strings")
    return list(reply)


def _pairs(reply: object) -> list[tuple[bytes, bytes]]:
    """HGETALL's reply as (field, value) pairs: a dict (redis-py) or a flat list (REST)."""
    if isinstance(reply, dict):
        return list(reply.items())
    flat = _strings(reply)
    if len(flat) % 2:
        raise StorageError("HGETALL answered an odd number of items")
    return list(zip(flat[::2], flat[1::2], strict=True))
