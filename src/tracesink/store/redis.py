"""The Redis store (``redis://``, ``rediss://``, ``redis+unix://``), shared by all instances.
``store/sentinel.py`` reuses it for a Sentinel-managed primary.

Each batch is ONE ``EVALSHA`` of ``lua/write_batch.lua``, which decides the limits, appends to the
trace lists, updates counters and the recent-traces index and refreshes TTLs atomically, so any
number of tracesink processes on one Redis enforce the limits as one process would. The key
layout is documented in docs/keys.md.

A hosted Redis bills every command, a script's inner calls included, so ``usage`` keeps a
running count of what this store has spent (each script reports its own inner calls).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import hiredis
from redis import asyncio as aioredis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tracesink.errors import ConfigurationError, StorageError
from tracesink.limits import Decision, Policy
from tracesink.masking import mask_url
from tracesink.model import PreparedEntry
from tracesink.store.base import new_batch_id
from tracesink.store.replica_wait import (
    WAITING,
    Confirmations,
    ReplicasBehind,
    ReplicaWait,
    shortfall,
)
from tracesink.store.script_store import ScriptStore
from tracesink.store.scripts import ScriptCall

CONNECT_TIMEOUT_S = 2.0
# A script over a full batch takes well under a millisecond; anything near this is a dead link.
COMMAND_TIMEOUT_S = 5.0


class RedisStore(ScriptStore):
    driver_errors = (RedisError,)

    def __init__(self, url: str, policy: Policy, wait: ReplicaWait | None = None) -> None:
        super().__init__(policy, mask_url(url))
        self._wait = wait  # the replica wait (store/replica_wait.py); None: acknowledge at once
        self._configure(url)
        # Two clients, two pools: the writer's (script calls, PING) and the reads', which holds
        # at most ``read_slots`` connections. However many reads wait, the writer's connection
        # is never theirs, so a busy read side never looks like a store outage to the writer.
        self._client: aioredis.Redis | None = None
        self._reader: aioredis.Redis | None = None
        # The writer pool's connection last used, kept out of the pool while idle (see
        # _send_packed); None while in use, or when there is none.
        self._idle: Any = None

    def _configure(self, url: str) -> None:
        """Read the URL; ConfigurationError, naming the setting, when it is not one."""
        self._driver_url = _driver_url(url)
        try:
            parse_url(self._driver_url)
        except ValueError:
            # Not the driver's message: it quotes parts of the URL, the password among them.
            raise ConfigurationError(
                f"TRACESINK_STORE={self._display!r} is not a valid Redis URL: expected "
                "redis://[user:password@]host[:port][/db], with ?, #, / and @ in a password "
                "percent-encoded (%3F, %23, %2F, %40)"
            ) from None

    def __repr__(self) -> str:
        return f"RedisStore({self._display!r})"

    def _redis(self) -> aioredis.Redis:
        """The writer's client, created on first use: constructing a store never connects."""
        if self._client is None:
            self._client = self._new_client(None)
        return self._client

    def _reads(self) -> aioredis.Redis:
        """The reads' client (``read_slots`` connections at most), created on first use."""
        if self._reader is None:
            self._reader = self._new_client(self.read_slots)
        return self._reader

    def _new_client(self, max_connections: int | None) -> aioredis.Redis:
        return aioredis.Redis.from_url(self._driver_url, **self._client_options(max_connections))

    def _client_options(self, max_connections: int | None) -> dict[str, Any]:
        """What every connection of a pool is opened with."""
        wait_s = self._wait.timeout_ms / 1000 if self._wait is not None else 0.0
        return {
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            # A WAIT may take its whole timeout: that is no dead link.
            "socket_timeout": COMMAND_TIMEOUT_S + wait_s,
            # Reads retry once at once, to replace a pooled connection the server has closed.
            # Scripts never go through this (see _send_packed): one that failed may have run.
            "retry": Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
            # No CLIENT SETINFO on every new connection: two commands a hosted Redis bills,
            # and that usage.commands would otherwise not see.
            "driver_info": None,
            "max_connections": max_connections,
        }

    async def _run(self, call: ScriptCall) -> object:
        command = hiredis.pack_command(
            ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)  # type: ignore[arg-type]  # hiredis's stub types the tuple as one element
        )
        waiting = WAITING.get()
        wait = self._wait if waiting is not None and not waiting.done else None
        # With the replica wait, WAIT rides behind the script: one round trip, one connection
        # (WAIT counts the replicas that have this connection's writes).
        packed = command + wait.command() if wait is not None else command
        try:
            replies = await self._send_packed(packed, 1 if wait is None else 2)
        except NoScriptError:
            # A restarted, flushed or failed-over server has forgotten the script.
            self._server_forgot()
            self.usage.commands += 2  # the refused EVALSHA and the SCRIPT LOAD
            self.usage.bytes_sent += len(call.script.text)
            await self._redis().script_load(call.script.text)
            replies = await self._send_packed(packed, 1 if wait is None else 2)
        reply = replies[0]
        self.usage.commands += 1 + int(reply[0])
        self.usage.bytes_sent += len(command)
        if waiting is not None and wait is not None:
            self.usage.commands += 1
            waiting.saw(_confirmed(replies[1]))
        return reply

    async def _send_packed(self, command: bytes, replies: int = 1) -> list[Any]:
        """Commands packed by hiredis, sent on a pooled connection, their ``replies`` read.

        redis-py's asyncio client packs every argument in Python (its sync client uses
        hiredis): with three arguments per entry, profiled at ~8 % of the server's time on
        single-entry requests and ~12 % on 20-entry batches (BENCHMARKS.md). Never retried: a
        script whose reply was lost may have run, and the spool's idempotent replay covers that.

        The connection is the one the last call used, kept out of the pool while idle, and
        checked as the pool checks one it hands out (``ensure_connection``: connected, nothing
        unread, else connected again): the pool's lock and bookkeeping around a call cost
        ~72,000 instructions, a step's largest part on single entries (callgrind, one PING each,
        issue 27). Calls at the same time take the pool's others.
        """
        pool = self._redis().connection_pool
        connection, self._idle = self._idle, None
        if connection is None:
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        else:
            try:
                await pool.ensure_connection(connection)
            except BaseException:
                await pool.release(connection)
                raise
        try:
            answers = await _round_trip(connection, command, replies)
        except BaseException:
            await connection.disconnect()  # its state is unknown: never reuse it
            await pool.release(connection)
            raise
        if self._idle is None and self._client is not None and pool is self._client.connection_pool:
            self._idle = connection
        else:
            await pool.release(connection)
        return answers

    async def _release_idle(self) -> None:
        """Give the kept connection back to its pool (which then may drop or close it)."""
        connection, self._idle = self._idle, None
        if connection is not None and self._client is not None:
            await self._client.connection_pool.release(connection)

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        """As ScriptStore's; with the replica wait, ReplicasBehind (carrying the decisions)
        when fewer replicas than asked confirmed the batch: the spool keeps it."""
        if self._wait is None:
            return await super().write_batch(entries, now_ms, batch_id)
        batch_id = batch_id or new_batch_id()
        waiting = Confirmations()
        token = WAITING.set(waiting)
        try:
            decisions = await super().write_batch(entries, now_ms, batch_id)
        finally:
            waiting.done = True
            WAITING.reset(token)
        if waiting.fewest is not None and waiting.fewest < self._wait.replicas:
            message = shortfall(self._wait, waiting.fewest, "wrote a batch", self._display)
            raise ReplicasBehind(message, decisions)
        return decisions

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        """As ScriptStore's; with the replica wait, ReplicasBehind (the batch stays spooled)
        unless the replicas confirm it, whether stored now or found stored before."""
        if self._wait is None:
            return await super().replay_batch(batch_id, entries, written_ms, now_ms)
        waiting = Confirmations()
        token = WAITING.set(waiting)
        try:
            stored = await super().replay_batch(batch_id, entries, written_ms, now_ms)
        finally:
            waiting.done = True
            WAITING.reset(token)
        confirmed = waiting.fewest
        if not stored or confirmed is None:
            # Found stored before: by a write whose replication this connection cannot wait
            # for. A replicated PUBLISH moves its offset past every earlier write, that one too.
            with self._errors("confirm a replayed batch"):
                _, answer = await self._send_packed(
                    self._wait.confirm_command(self._policy.key_prefix), 2
                )
            self.usage.commands += 2
            confirmed = _confirmed(answer)
        if confirmed < self._wait.replicas:
            raise ReplicasBehind(
                shortfall(self._wait, confirmed, "replayed a spooled batch", self._display)
            )
        return stored

    async def _commands(
        self, commands: Sequence[Sequence[int | str | bytes]], *, writer: bool = False
    ) -> list[object]:
        client = self._redis() if writer else self._reads()
        async with client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies: list[object] = await pipe.execute()
        self.usage.commands += len(commands)
        return replies

    async def ping(self) -> None:
        with self._errors("ping"):
            await self._redis().ping()
        self.usage.commands += 1

    async def close(self) -> None:
        await self._close_flusher()
        await self._release_idle()
        clients = [c for c in (self._client, self._reader) if c is not None]
        self._client = self._reader = None
        for client in clients:
            with self._errors("close the connections"):
                await client.aclose()


async def _round_trip(connection: Any, command: bytes, replies: int) -> list[Any]:
    """``command`` sent on ``connection`` and ``replies`` replies read, within the connection's
    ``socket_timeout`` for the whole exchange.

    redis-py bounds the send by ``asyncio.wait_for``, which on Python 3.11 makes a task for it
    (~64,000 instructions, callgrind), and each read by a timeout of its own (~20,000): one
    ``asyncio.timeout`` over the round trip bounds both: a single entry's store step 450,446 ->
    414,715 instructions (bench/store_step.py, workload c). So the send is redis-py's own step
    without its ``wait_for`` (``_send_packed_command``: the writes and the drain, its errors),
    and the reads are its reads without their timeout (``math.inf``). Its errors are
    redis-py's, as it words them: a failed send a ``ConnectionError``, an expiry a
    ``TimeoutError``.
    """
    try:
        async with asyncio.timeout(connection.socket_timeout):
            try:
                await connection._send_packed_command((command,))
            except OSError as exc:  # what send_packed_command turns into a ConnectionError
                raise RedisConnectionError(
                    f"Error while writing to {connection._host_error()}: {exc}"
                ) from exc
            return [await connection.read_response(timeout=math.inf) for _ in range(replies)]
    except TimeoutError:
        raise RedisTimeoutError(f"Timeout reading from {connection._host_error()}") from None


def _confirmed(answer: object) -> int:
    """WAIT's answer: the replicas that confirmed. Anything else is a store failure, not a
    shortfall (the spool's ordinary path, which the batch id makes safe to replay)."""
    if not isinstance(answer, int):
        raise StorageError("WAIT answered something other than a count of replicas")
    return answer


def _driver_url(url: str) -> str:
    """The URL as redis-py spells it: ``redis+unix://`` is its ``unix://``."""
    scheme, _, rest = url.partition("://")
    return f"unix://{rest}" if scheme.lower() == "redis+unix" else url
