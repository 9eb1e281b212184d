"""The Sentinel store (``redis+sentinel://``, ``rediss+sentinel://``): a Redis primary that
Sentinel fails over to a replica when it dies.

It is the Redis store (store/redis.py) with the connections made differently: every new
connection asks the Sentinels where the primary is now (``SENTINEL MASTERS``, redis-py's
``SentinelConnectionPool``). Writing stays one pre-packed script call per batch, on the writer's
own pool, reads on theirs.

A failover, as the store sees it: the connections to the dead primary fail, and so do new ones
until the Sentinels have promoted a replica (while they only see it down, they name no primary);
each failure is a StorageError, so the spool (store/spooling.py) answers those batches 202
queued and replays them, idempotently, once a primary answers. A connection to an old primary
that came back as a replica gets READONLY, which redis-py turns into a reconnection to the new
one. The new primary may lack what the old one acknowledged but had not replicated yet, and an
old primary the Sentinels replaced while it still ran takes writes until it is demoted, then
drops them: the replica wait (store/replica_wait.py) closes both gaps, and after a shortfall of
replicas this store asks the Sentinels again where the primary is. The URL: sentinel_url.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisError

from tracesink.limits import Decision
from tracesink.model import PreparedEntry
from tracesink.store.redis import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, RedisStore
from tracesink.store.replica_wait import ReplicasBehind
from tracesink.store.sentinel_url import SentinelTarget, parse_sentinel_url


class SentinelStore(RedisStore):
    def _configure(self, url: str) -> None:
        self._target: SentinelTarget = parse_sentinel_url(url)
        self._sentinel: Sentinel | None = None

    def __repr__(self) -> str:
        return f"SentinelStore({self._display!r})"

    def _sentinels(self) -> Sentinel:
        """The client of the Sentinels, shared by both pools, created on first use."""
        if self._sentinel is None:
            target = self._target
            self._sentinel = Sentinel(
                target.sentinels,
                sentinel_kwargs={
                    "socket_connect_timeout": CONNECT_TIMEOUT_S,
                    "socket_timeout": COMMAND_TIMEOUT_S,
                    "username": target.sentinel_username,
                    "password": target.sentinel_password,
                    "ssl": target.tls,
                    "driver_info": None,
                },
            )
        return self._sentinel

    def _new_client(self, max_connections: int | None) -> aioredis.Redis:
        target = self._target
        client: aioredis.Redis = self._sentinels().master_for(
            target.service,
            db=target.db,
            username=target.username,
            password=target.password,
            ssl=target.tls,
            **self._client_options(max_connections),
        )
        return client

    async def write_batch(
        self, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str | None = None
    ) -> list[Decision]:
        try:
            return await super().write_batch(entries, now_ms, batch_id)
        except ReplicasBehind:
            await self._ask_for_the_primary()
            raise

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        try:
            return await super().replay_batch(batch_id, entries, written_ms, now_ms)
        except ReplicasBehind:
            await self._ask_for_the_primary()
            raise

    async def _ask_for_the_primary(self) -> None:
        """After a shortfall of replicas: ask the Sentinels where the primary is, and drop the
        idle connections if it moved.

        A primary that lost its replicas may be one the Sentinels have just replaced (a
        failover they ran while it was still up, or a partition): it takes writes until it is
        turned into a replica, and the writer's pooled connections would go on sending them
        there. Best effort: if the Sentinels do not answer, the next connection asks again."""
        pool = self._redis().connection_pool
        # The writer's kept connection back first: only the pool's idle ones are dropped.
        await self._release_idle()
        if isinstance(pool, SentinelConnectionPool):
            with contextlib.suppress(RedisError):
                await pool.get_master_address()  # type: ignore[no-untyped-call]  # unannotated in redis-py

    async def close(self) -> None:
        await super().close()
        sentinel, self._sentinel = self._sentinel, None
        if sentinel is not None:
            with self._errors("close the connections to the Sentinels"):
                await sentinel.aclose()
