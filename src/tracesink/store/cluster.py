"""The Redis Cluster store (``redis+cluster://``, ``rediss+cluster://``): traces spread over shards.

Every key carries a hash tag (docs/keys.md): a trace's list and pin share the trace's slot, the
counters, the day count and the indexes share the slot of ``{tracesink}``. A script may touch
one slot only, so a batch is two steps instead of write_batch.lua's one (``cluster_scripts.py``):

1. ``cluster_decide.lua`` on the counters' slot decides every entry, atomically, as
   write_batch.lua does: any number of instances never admit more than the limits;
2. one ``cluster_append.lua`` per slot (a trace's), each shard's calls packed by hiredis and
   sent in one write (one round trip per shard, all at once), writes the admitted entries and
   the drop markers.

An append that fails (a shard down, a timeout) has spent its entries' quota: the quota is
wasted, never over-admitted. The batch then fails as a whole, so the spool takes it (202) or the
client is answered 503; its replay stores each entry the decision admitted exactly once (the
decision's b: field names those it refused, and an append in replay mode skips a trace whose
list already holds the entries). Calls go to the shard redis-py's slot map names; one refused
unrun (MOVED, ASK, TRYAGAIN, NOSCRIPT) goes again through redis-py's ``RedisCluster``, which
follows redirections, so a slot moving between shards under load loses and duplicates nothing.
Nothing is retried on a connection error: a script whose reply was lost may have run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import hiredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)

from tracesink.limits import Decision, Policy
from tracesink.masking import mask_url
from tracesink.model import PreparedEntry
from tracesink.store.cluster_pins import ClusterPins
from tracesink.store.cluster_scripts import (
    AppendReply,
    Share,
    append_call,
    append_replies,
    append_shares,
    decide_call,
    decide_reply,
    replay_claim_call,
    replay_refused,
    replay_shares,
)
from tracesink.store.cluster_url import parse_cluster_url
from tracesink.store.redis import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S
from tracesink.store.refusals import DropRun
from tracesink.store.scripts import DAY_MS, ScriptCall

# Answers with which a shard refuses a call before running any of it: safe to send again.
_REDIRECTED = (MovedError, AskError, TryAgainError)  # the slot is, or is going, elsewhere
_RAN_NOTHING = (*_REDIRECTED, NoScriptError)
_UNSENT = object()  # a call not sent directly: the shard's map says to route it


class ClusterStore(ClusterPins):
    driver_errors = (RedisError, RedisClusterException)

    def __init__(self, url: str, policy: Policy) -> None:
        super().__init__(policy, mask_url(url))
        self._nodes, self._credentials, self._tls = parse_cluster_url(url, self._display)
        # As RedisStore: the writer's client and the reads', each with its own connections.
        self._client: RedisCluster | None = None
        self._reader: RedisCluster | None = None
        # A shard failed under the direct calls: route through redis-py until a call succeeds.
        self._stale = False
        # Calls a shard refused unrun (a slot moved or moving) and redis-py then redirected.
        self.rerouted = 0
        # One batch's two steps at a time (the writer sends one anyway; the drop markers' timer
        # and a read's flush may not overtake it): this instance's appends reach each list in
        # the order their decisions were made.
        self._steps = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ClusterStore({self._display!r})"

    def _cluster(self, *, writer: bool = True) -> RedisCluster:
        """The writer's client (scripts never retried) or the reads' (one retry, to replace a
        pooled connection the server closed); created on first use: constructing never connects."""
        if writer:
            if self._client is None:
                self._client = self._new_client(retries=0)
            return self._client
        if self._reader is None:
            self._reader = self._new_client(retries=1)
        return self._reader

    def _new_client(self, retries: int) -> RedisCluster:
        user, password = self._credentials
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in self._nodes],
            username=user,
            password=password,
            ssl=self._tls,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=COMMAND_TIMEOUT_S,
            retry=Retry(NoBackoff(), retries=retries),
            driver_info=None,  # no CLIENT SETINFO per connection: commands a host would bill
        )

    async def _run(self, call: ScriptCall) -> object:
        (reply,) = await self._run_all([call])
        return reply

    async def _run_all(self, calls: Sequence[ScriptCall]) -> list[object]:
        """Script calls of one slot each, in one pipeline: one round trip per shard, each call
        routed by its key (MOVED and ASK followed); their replies, or the first error raised.

        A NOSCRIPT (a shard restarted, flushed or new) loads the script on every primary and
        sends again the calls it refused: those never ran."""
        replies: list[object] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(2):
            client = self._cluster()
            async with client.pipeline(transaction=False) as pipe:
                for i in todo:
                    call = calls[i]
                    pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
                results = await pipe.execute(raise_on_error=False)
            forgotten = []
            for i, result in zip(todo, results, strict=True):
                self.usage.commands += 1
                self.usage.bytes_sent += _size(calls[i])
                if isinstance(result, NoScriptError) and attempt == 0:
                    forgotten.append(i)
                    continue
                if isinstance(result, BaseException):
                    raise result
                replies[i] = result
                if isinstance(result, list) and result and isinstance(result[0], int):
                    self.usage.commands += result[0]  # the script's own calls
            if not forgotten:
                break
            self._server_forgot()
            for script in {calls[i].script for i in forgotten}:
                await client.script_load(script.text)  # on every primary
                self.usage.commands += len(client.get_primaries())
                self.usage.bytes_sent += len(script.text)
            todo = forgotten
        return replies

    async def _run_direct(self, call: ScriptCall) -> object:
        """One call of one slot, packed by hiredis and sent to the shard the slot map names;
        sent again through redis-py (``_run``), which follows redirections and loads a
        missing script, when the shard answers that it ran nothing (MOVED, ASK, NOSCRIPT…)."""
        if not self._stale:
            client = self._cluster()
            await client.initialize()
            try:
                [reply] = await self._send_to(_primary(client, call.keys[0]), [call])
            except BaseException:
                self._stale = True
                raise
            self.rerouted += isinstance(reply, _REDIRECTED)
            if not isinstance(reply, _RAN_NOTHING):
                if isinstance(reply, BaseException):
                    self._stale = True
                    raise reply
                return reply
        return await self._run(call)

    async def _append(self, shares: Sequence[Share], now_ms: int, mode: str) -> list[AppendReply]:
        """Every trace's share: one cluster_append.lua call per slot (traces of one slot share
        it), the calls of each shard packed by hiredis and sent together, all shards at once.
        A call its shard refused without running it (its slot moved or moving: MOVED, ASK,
        TRYAGAIN; NOSCRIPT) is sent again through redis-py, which follows the redirection.

        Any other failure fails the batch (nothing is retried: a call whose reply was lost may
        have run) and routes the next calls through redis-py until one succeeds: its own
        errors refresh its map of the slots (a failed-over or restarted shard)."""
        policy = self._policy
        client = self._cluster()
        await client.initialize()
        by_slot: dict[int, list[Share]] = {}
        for share in shares:
            by_slot.setdefault(client.keyslot(share.key), []).append(share)
        calls = [(group, append_call(policy, now_ms, mode, group)) for group in by_slot.values()]
        results: list[object] = [_UNSENT] * len(calls)
        if not self._stale:
            by_node: dict[ClusterNode, list[int]] = {}
            for i, (group, _) in enumerate(calls):
                by_node.setdefault(_primary(client, group[0].key), []).append(i)
            sent = await asyncio.gather(
                *(self._send_to(node, [calls[i][1] for i in at]) for node, at in by_node.items()),
                return_exceptions=True,
            )
            for at, replies in zip(by_node.values(), sent, strict=True):
                if isinstance(replies, BaseException):
                    self._stale = True
                    raise replies
                for i, reply in zip(at, replies, strict=True):
                    results[i] = reply
            for reply in results:
                if isinstance(reply, BaseException) and not isinstance(reply, _RAN_NOTHING):
                    self._stale = True
                    raise reply
        again = [i for i, r in enumerate(results) if r is _UNSENT or isinstance(r, _RAN_NOTHING)]
        self.rerouted += sum(1 for r in results if isinstance(r, _REDIRECTED))
        if again:
            for i, reply in zip(
                again, await self._run_all([calls[i][1] for i in again]), strict=True
            ):
                results[i] = reply
            self._stale = False
        by_trace: dict[str, AppendReply] = {}
        for (group, _), reply in zip(calls, results, strict=True):
            by_trace.update(
                zip((s.trace_id for s in group), append_replies(reply, len(group)), strict=True)
            )
        return [by_trace[share.trace_id] for share in shares]

    async def _send_to(self, node: ClusterNode, calls: Sequence[ScriptCall]) -> list[object]:
        """``EVALSHA``s on one of ``node``'s connections, packed by hiredis (redis-py packs
        each argument in Python: three per entry) and sent in one write; a reply each, an error
        reply as its exception. A connection whose state is unknown (any error but an error
        reply) is closed, never reused, and the error raised."""
        commands = [
            hiredis.pack_command(
                ("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)  # type: ignore[arg-type]  # hiredis's stub types the tuple as one element
            )
            for call in calls
        ]
        self.usage.commands += len(commands)
        self.usage.bytes_sent += sum(map(len, commands))
        replies: list[object] = []
        connection = node.acquire_connection()
        try:
            await connection.send_packed_command(b"".join(commands), check_health=False)
            for _ in commands:
                try:
                    reply = await connection.read_response()
                except ResponseError as exc:  # an error reply: the connection is fine
                    replies.append(exc)
                    continue
                if isinstance(reply, list) and reply and isinstance(reply[0], int):
                    self.usage.commands += reply[0]  # the script's own calls
                replies.append(reply)
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            node.release(connection)
        return replies

    async def _write(
        self,
        entries: Sequence[PreparedEntry],
        now_ms: int,
        batch_id: str,
        runs: list[tuple[str, DropRun]],
    ) -> list[Decision]:
        """The decision on the counters' slot, then every trace's append; ``runs`` are given
        back when either fails (written at least once, as on a single primary)."""
        usage, policy = self.usage, self._policy
        decisions: list[Decision] = []
        try:
            async with self._steps:
                with self._errors("write a batch"):
                    if entries:
                        uncounted = usage.commands - usage.shared_mark
                        before = usage.commands
                        call = decide_call(policy, entries, now_ms, batch_id, uncounted)
                        decided = decide_reply(await self._run_direct(call), len(entries))
                        decisions = decided.decisions
                        if decided.day_commands >= 0:
                            # Counted: up to the decision's own commands; the appends' are carried
                            # by the next call, as any command spent since.
                            usage.shared_day = now_ms // DAY_MS
                            usage.shared_count = decided.day_commands
                            usage.shared_mark = before + 1 + decided.calls
                        self._refusals.learn(now_ms, decided.counts)
                    shares = append_shares(policy, entries, decisions, now_ms, runs)
                    replies = await self._append(shares, now_ms, "w")
        except BaseException:
            self._refusals.give_back(runs)
            raise
        written = []
        for share, reply in zip(shares, replies, strict=True):
            usage.drops_unmarked += reply.unmarked
            if reply.written:
                written.append(share.trace_id)
        if written:
            self._refusals.wrote(written, now_ms)
        return decisions

    async def replay_batch(
        self, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
    ) -> bool:
        """The counts, claimed once (cluster_replay.lua), then each trace's idempotent append
        of the entries the batch's decision admitted (all of them, if it was never decided)."""
        policy = self._policy
        with self._errors("replay a spooled batch"):
            claim = replay_claim_call(policy, batch_id, entries, written_ms, now_ms)
            refused = replay_refused(await self._run(claim))
            kept = [e for e in entries if e.id not in refused]
            shares = replay_shares(policy, kept)
            replies = await self._append(shares, now_ms, "r")
        now_stored = {share.trace_id for share, r in zip(shares, replies, strict=True) if r.stored}
        self.usage.bytes_stored += sum(len(e.payload) for e in kept if e.trace_id in now_stored)
        return bool(now_stored)

    async def _commands(
        self, commands: Sequence[Sequence[int | str | bytes]], *, writer: bool = False
    ) -> list[object]:
        """Plain commands in one pipeline, each routed by its key (one round trip per shard)."""
        async with self._cluster(writer=writer).pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            replies: list[object] = await pipe.execute()
        self.usage.commands += len(commands)
        return replies

    async def ping(self) -> None:
        """PING every primary: a shard down is a store outage (its traces cannot be written)."""
        with self._errors("ping"):
            client = self._cluster()
            await client.ping(target_nodes=RedisCluster.PRIMARIES)
            self.usage.commands += len(client.get_primaries())

    async def close(self) -> None:
        await self._close_flusher()
        clients = [c for c in (self._client, self._reader) if c is not None]
        self._client = self._reader = None
        for client in clients:
            with self._errors("close the connections"):
                await client.aclose()


def _primary(client: RedisCluster, key: str) -> ClusterNode:
    """The primary serving ``key``'s slot, as the client's slot map says."""
    node = client.get_node_from_key(key)
    if node is None:  # only for a replica; a slot no node covers raises
        raise SlotNotCoveredError(f"no primary serves the slot of {key!r}")
    return node


def _size(call: ScriptCall) -> int:
    """Roughly the bytes a call sends (keys and arguments), for ``usage.bytes_sent``."""
    return sum(len(v) if isinstance(v, bytes) else len(str(v)) for v in (*call.keys, *call.args))
