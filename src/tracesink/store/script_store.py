"""What every Redis-protocol store shares: a batch is the Lua script calls of ``scripts.py``,
whatever carries them (redis-py over the native protocol, or HTTP to Upstash's REST API)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tracesink.errors import StorageError
from tracesink.limits import Decision, Policy
from tracesink.model import PreparedEntry
from tracesink.store.base import Usage, new_batch_id
from tracesink.store.scripts import ScriptCall, decisions_from, replay_batch_call, write_batch_call


class ScriptStore(ABC):
    """``write_batch`` and ``replay_batch`` over ``_run``, which sends one script call."""

    # The driver's own errors, each turned into a StorageError that names the store.
    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self, policy: Policy, display: str) -> None:
        self._policy = policy
        self._display = display  # the URL with its secrets masked
        self.usage = Usage()

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
    async def _run(self, call: ScriptCall) -> list[int]:
        """Send one script call; its reply (first element: the script's inner call count)."""

    def _parts(
        self, batch_id: str, entries: Sequence[PreparedEntry]
    ) -> list[tuple[str, Sequence[PreparedEntry]]]:
        """The sub-batches a batch is sent as, with their ids: one, unless a store must split."""
        return [(batch_id, entries)]

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        decisions: list[Decision] = []
        for part_id, part in self._parts(batch_id or new_batch_id(), entries) if entries else ():
            call = write_batch_call(self._policy, part, now_ms, part_id)
            with self._errors("write a batch"):
                reply = await self._run(call)
            part_decisions = decisions_from(reply, len(part))
            self.usage.add_stored(part, part_decisions)
            decisions += part_decisions
        return decisions

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        """As the protocol says; for a split batch, True when any sub-batch was stored now."""
        stored = False
        for part_id, part in self._parts(batch_id, entries):
            call = replay_batch_call(self._policy, part_id, part, written_ms, now_ms)
            with self._errors("replay a spooled batch"):
                reply = await self._run(call)
            if reply[1] == 1:
                self.usage.bytes_stored += sum(len(e.payload) for e in part)
                stored = True
        return stored
