"""What every Redis-protocol store shares on the write side (the reads: ``script_reads.py``): a
batch is the Lua script calls of ``scripts.py``, whatever carries them (redis-py over the native
protocol, or HTTP to Upstash's REST API).

Refusals cost nothing where that is exact (``refusals.py``): a batch refused entirely on what the
script last reported is answered here, its drops held and written with the trace's next script
call, before a read of the trace, or within ``RefusalMemory.flush_delay_ms`` by a timer.

Calls may be in flight together (the writer never puts one trace in two of them); a held run
is only sent with its trace's own call, or, by the timer, when no call of that trace is in
flight: a trace's drops and entries reach the server in the order they were decided, so each
marker sits where its refusals happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import attrgetter

from tracesink.errors import StorageError
from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.store.base import (
    new_batch_id,
)
from tracesink.store.day_count import count_day_call, day_count_reply
from tracesink.store.keys import requests_key, traces_of
from tracesink.store.pinning import PinBounds, PinOutcome
from tracesink.store.refusals import DropRun, RefusalMemory
from tracesink.store.script_pins import (
    pin_call,
    pin_outcome,
    pin_reply,
)
from tracesink.store.script_reads import ScriptReads
from tracesink.store.scripts import (
    DAY_MS,
    ScriptCall,
    batch_reply,
    counters_key,
    import_trace_call,
    replay_batch_call,
    write_batch_call,
)

log = logging.getLogger("tracesink")
_TRACE_ID = attrgetter("trace_id")


class InFlight:
    """The traces of the script calls in flight, one set per call: entering and leaving a call
    costs no step per trace (a Counter's ``subtract`` and the clean-up after it were a Python
    loop over the call's traces, ~0.3 us an entry on single entries); a lookup asks each call,
    and only the drop timer and ``take`` look up, for the few traces with held drops."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls: list[set[str]] = []

    def __contains__(self, trace_id: object) -> bool:
        return any(trace_id in call for call in self.calls)

    def __bool__(self) -> bool:
        return bool(self.calls)


class ScriptStore(ScriptReads):
    """``write_batch`` and ``replay_batch`` over ``_run``, which sends one script call; the
    reads and the command seam are ``ScriptReads``'."""

    max_in_flight = 1  # Store.max_in_flight: one step at a time, unless a store says more

    def __init__(self, policy: Policy, display: str) -> None:
        super().__init__(policy, display)
        self._refusals = RefusalMemory(policy)
        self._flying = InFlight()  # the traces of the calls in flight
        self._flusher: asyncio.Task[None] | None = None
        # The callers' clock (now_ms) against the monotonic one, for the timer's writes.
        self._clock = (0, 0.0)

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        """One import_trace.lua call (the list alone), then the recent-traces index: the
        window's l:{trace_id} field, and the hash's expiry when the HSET created it (NX), as
        write_batch.lua sets it. Every command is counted in ``usage`` (the daily budget)."""
        policy = self._policy
        await self.flush_drops(trace_id)  # held refusals of the old list: not on the new one
        call = import_trace_call(policy, trace_id, items, replace)
        with self._errors("import a trace"):
            reply = await self._run(call)
        if not isinstance(reply, list) or len(reply) != 2:
            raise StorageError("import_trace.lua answered something other than {calls, stored}")
        if reply[1] != 1:
            return False
        self.usage.bytes_stored += sum(len(item) for item in items)
        key = counters_key(policy, now_ms // policy.window_ms)
        keep_ms = policy.window_ms + max(policy.window_ms, policy.ttl_ms)
        with self._errors("list an imported trace"):
            await self._commands(
                [["HSET", key, f"l:{trace_id}", now_ms], ["PEXPIRE", key, keep_ms, "NX"]],
                writer=True,
            )
        return True

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        """One pin.lua call: LRANGE (the bytes), HGETALL of the index, and when it pins,
        PEXPIRE, SET, HSET, PEXPIRE (an HDEL more when some pins had ended)."""
        await self.flush_drops(trace_id)  # held drops first: they would extend the list after
        with self._errors("pin a trace"):
            return pin_outcome(
                await self._run(pin_call(self._policy, trace_id, until_ms, now_ms, bounds))
            )

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        """One pin.lua call: HDEL, DEL, then LINDEX and PEXPIRE when it was pinned."""
        await self.flush_drops(trace_id)
        with self._errors("unpin a trace"):
            status, _, _ = pin_reply(
                await self._run(pin_call(self._policy, trace_id, 0, now_ms, None))
            )
        return status == 1

    async def link_requests(self, links: Mapping[str, str], now_ms: int) -> None:
        """Two commands (HSET, PEXPIRE) into the window's req: hash, which lives two windows: as
        many fields at most as entries the global limit admits in a window."""
        if not links:
            return
        policy = self._policy
        key = requests_key(policy.key_prefix, now_ms // policy.window_ms)
        fields = [part for link in links.items() for part in link]
        with self._errors("remember Convex request ids"):
            await self._commands(
                [["HSET", key, *fields], ["PEXPIRE", key, 2 * policy.window_ms]], writer=True
            )

    @abstractmethod
    async def _run(self, call: ScriptCall) -> object:
        """Send one script call; its reply (first element: the script's inner call count)."""

    def _server_forgot(self) -> None:
        """The server answered NOSCRIPT: it was flushed or restarted, its counters perhaps too."""
        self._refusals.forget()

    def _parts(
        self, batch_id: str, entries: Sequence[PreparedEntry]
    ) -> list[tuple[str, Sequence[PreparedEntry]]]:
        """The sub-batches a batch is sent as, with their ids: one, unless a store must split."""
        return [(batch_id, entries)]

    def _now_ms(self) -> int:
        """The callers' clock, moved on by real time since it was last seen."""
        seen_ms, at = self._clock
        return seen_ms + int((time.monotonic() - at) * 1000)

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        if not entries:
            return []
        self._clock = (now_ms, time.monotonic())
        local = self._refusals.decide_entries(entries, now_ms)
        if local is not None:
            for entry, decision in zip(entries, local, strict=True):
                if not self._refusals.hold(entry.trace_id, decision.limited_by or "", now_ms):
                    self.usage.drops_unmarked += 1
            if self._refusals.pending:
                self._start_flusher()
            return local
        decisions: list[Decision] = []
        traces = set(map(_TRACE_ID, entries))
        runs = self._refusals.take(traces, now_ms, self._flying)
        with self._flight(traces.union([t for t, _ in runs]) if runs else traces):
            for part_id, part in self._parts(batch_id or new_batch_id(), entries):
                part_decisions = await self._write(part, now_ms, part_id, runs)
                runs = []
                self.usage.add_stored(part, part_decisions)
                decisions += part_decisions
        return decisions

    @contextmanager
    def _flight(self, traces: set[str]) -> Iterator[None]:
        self._flying.calls.append(traces)
        try:
            yield
        finally:
            self._flying.calls.remove(traces)

    async def _write(
        self,
        entries: Sequence[PreparedEntry],
        now_ms: int,
        batch_id: str,
        runs: list[tuple[str, DropRun]],
    ) -> list[Decision]:
        """One script call; ``runs`` are given back when it fails."""
        usage = self.usage
        uncounted = usage.commands - usage.shared_mark
        call = write_batch_call(self._policy, entries, now_ms, batch_id, runs, uncounted)
        before = usage.commands
        try:
            with self._errors("write a batch"):
                reply = batch_reply(await self._run(call), len(entries))
        except BaseException:
            # Written at least once: a call whose reply was lost may have written them already.
            self._refusals.give_back(runs)
            raise
        usage.drops_unmarked += reply.unmarked
        if reply.day_commands >= 0:
            # Counted: everything up to this call's own commands (not a NOSCRIPT's reload).
            usage.shared_day = now_ms // DAY_MS
            usage.shared_count = reply.day_commands
            usage.shared_mark = before + 1 + reply.calls
        if reply.written:
            keys = call.keys
            written = traces_of(self._policy.key_prefix, [keys[k - 1] for k in reply.written])
            self._refusals.wrote(written, now_ms)
        if entries:
            self._refusals.learn(now_ms, reply.counts)
        return reply.decisions

    async def publish_commands(self, now_ms: int) -> None:
        """Add the commands no script call has counted yet to the shared daily count (with a
        shared budget): what an instance that only reads must do, since no write carries them.
        Skipped while a write is in flight, which carries them anyway."""
        usage = self.usage
        uncounted = usage.commands - usage.shared_mark
        if not self._policy.shared_budget or uncounted <= 0 or self._flying:
            return
        before, mark = usage.commands, usage.shared_mark
        # Claimed now: a write sent meanwhile must not carry the same commands a second time.
        usage.shared_mark = before
        try:
            with self._errors("count the day's commands"):
                reply = day_count_reply(
                    await self._run(count_day_call(self._policy, now_ms, uncounted))
                )
        except BaseException:
            if usage.shared_mark == before:  # nothing counted them since: still owed
                usage.shared_mark = mark
            raise
        if usage.shared_mark == before:  # no write's reply came since with a newer count
            usage.shared_day = now_ms // DAY_MS
            usage.shared_count = reply.count
            usage.shared_mark = before + 1 + reply.calls

    async def flush_drops(self, trace_id: str | None = None) -> None:
        """Write the held drops now: ``trace_id``'s (before it is read), or all of them."""
        now_ms = self._now_ms()
        runs = (
            self._refusals.take([trace_id], now_ms)
            if trace_id is not None
            else self._refusals.take_all()
        )
        if runs:
            with self._flight({t for t, _ in runs}):
                await self._write([], now_ms, new_batch_id(), runs)

    def _start_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_when_due())

    async def _flush_when_due(self) -> None:
        """While drops are held: write each within the flush delay of its first refusal."""
        failing = False
        while (oldest := self._refusals.oldest_ms()) is not None:
            wait_ms = oldest + self._refusals.flush_delay_ms - self._now_ms()
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
                continue
            now_ms = self._now_ms()
            runs = self._refusals.take((), now_ms, self._flying)
            if not runs:  # the due ones wait for their traces' calls in flight
                await asyncio.sleep(self._refusals.flush_delay_ms / 1000)
                continue
            try:
                with self._flight({t for t, _ in runs}):
                    await self._write([], now_ms, new_batch_id(), runs)
            except StorageError as exc:
                # Kept for the next try: markers are worth a retry, never an outage of their own
                # (one line per outage: the spool already reports it).
                if not failing:
                    log.warning("could not write drop markers, retrying: %s", exc)
                failing = True
                await asyncio.sleep(self._refusals.flush_delay_ms / 1000)
            else:
                failing = False

    async def _close_flusher(self) -> None:
        """Stop the timer and write what is held, if the store still answers."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush_drops()
        except StorageError as exc:
            log.warning("drop markers not written at close: %s", exc)

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        """As the protocol says; for a split batch, True when any sub-batch was stored now."""
        stored = False
        for part_id, part in self._parts(batch_id, entries):
            call = replay_batch_call(self._policy, part_id, part, written_ms, now_ms)
            with self._errors("replay a spooled batch"):
                reply = await self._run(call)
            if not isinstance(reply, list) or len(reply) != 2:
                raise StorageError("replay_batch.lua answered something other than {calls, stored}")
            if reply[1] == 1:
                self.usage.bytes_stored += sum(len(e.payload) for e in part)
                stored = True
        return stored
