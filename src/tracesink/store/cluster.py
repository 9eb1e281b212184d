"""The Redis Cluster store (``redis+cluster://``, ``rediss+cluster://``): traces spread over shards.

Every key carries a hash tag (docs/keys.md): a trace's list and pin share the trace's slot, the
counters, the day count and the indexes share the slot of ``{tracesink}``. A script may touch
one slot only, so a batch is two steps instead of write_batch.lua's one (``cluster_scripts.py``):

1. ``cluster_decide.lua`` on the counters' slot decides every entry, atomically, as
   write_batch.lua does: any number of instances never admit more than the limits;
2. one ``cluster_append.lua`` per trace, on the trace's slot, all sent in one pipeline (one
   round trip per shard), writes the admitted entries and the drop markers.

An append that fails (a shard down, a timeout) has spent its entries' quota: the quota is
wasted, never over-admitted. The batch then fails as a whole, so the spool takes it (202) or the
client is answered 503; its replay stores each entry the decision admitted exactly once (the
decision's b: field names those it refused, and an append in replay mode skips a trace whose
list already holds the entries). redis-py's ``RedisCluster`` routes each call by its key and
follows MOVED and ASK, so a slot moving between shards under load loses and duplicates nothing.
Nothing is retried on a connection error: a script whose reply was lost may have run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import unquote

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from tracesink.errors import ConfigurationError
from tracesink.limits import Decision, Policy
from tracesink.masking import mask_url
from tracesink.model import PreparedEntry
from tracesink.store.cluster_pins import ClusterPins
from tracesink.store.cluster_scripts import (
    append_calls,
    append_reply,
    decide_call,
    decide_reply,
    replay_append_calls,
    replay_claim_call,
    replay_refused,
)
from tracesink.store.redis import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S
from tracesink.store.refusals import DropRun
from tracesink.store.scripts import DAY_MS, ScriptCall

DEFAULT_PORT = 6379
SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS
URL_FORM = "redis+cluster://[user:password@]host[:port][,host[:port]...] (TLS: rediss+cluster)"


class ClusterStore(ClusterPins):
    driver_errors = (RedisError, RedisClusterException)

    def __init__(self, url: str, policy: Policy) -> None:
        super().__init__(policy, mask_url(url))
        self._nodes, self._credentials, self._tls = parse_cluster_url(url, self._display)
        # As RedisStore: the writer's client and the reads', each with its own connections.
        self._client: RedisCluster | None = None
        self._reader: RedisCluster | None = None
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
                        decided = decide_reply(await self._run(call), len(entries))
                        decisions = decided.decisions
                        if decided.day_commands >= 0:
                            # Counted: up to the decision's own commands; the appends' are carried
                            # by the next call, as any command spent since.
                            usage.shared_day = now_ms // DAY_MS
                            usage.shared_count = decided.day_commands
                            usage.shared_mark = before + 1 + decided.calls
                        self._refusals.learn(now_ms, decided.counts)
                    appends = append_calls(policy, entries, decisions, now_ms, runs)
                    replies = await self._run_all([call for _, call in appends])
        except BaseException:
            self._refusals.give_back(runs)
            raise
        written = []
        for (trace_id, _), raw in zip(appends, replies, strict=True):
            reply = append_reply(raw)
            usage.drops_unmarked += reply.unmarked
            if reply.written:
                written.append(trace_id)
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
            replies = await self._run_all(replay_append_calls(policy, kept, now_ms))
        stored = [append_reply(raw).stored for raw in replies]
        self.usage.bytes_stored += sum(len(e.payload) for e in kept)  # each stored once in all
        return any(stored)

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


def _size(call: ScriptCall) -> int:
    """Roughly the bytes a call sends (keys and arguments), for ``usage.bytes_sent``."""
    return sum(len(v) if isinstance(v, bytes) else len(str(v)) for v in (*call.keys, *call.args))


def parse_cluster_url(
    url: str, display: str
) -> tuple[list[tuple[str, int]], tuple[str | None, str | None], bool]:
    """(startup nodes, (user, password), TLS) of a cluster URL; ConfigurationError naming
    TRACESINK_STORE, the URL masked, for anything else."""

    def refuse(why: str) -> ConfigurationError:
        return ConfigurationError(f"TRACESINK_STORE={display!r} {why}: expected {URL_FORM}")

    scheme, _, rest = url.partition("://")
    tls = SCHEMES.get(scheme.lower())
    if tls is None:
        raise refuse(f"is not a cluster URL (scheme {scheme!r})")
    userinfo, at, hosts = rest.rpartition("@")
    hosts, slash, path = hosts.partition("/")
    if "?" in hosts or "?" in path or "#" in hosts:
        raise refuse("has options; a cluster URL takes none")
    if slash and path not in ("", "0"):
        raise refuse("names a database other than 0 (a cluster has only database 0)")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    nodes = []
    for node in hosts.split(","):
        host, port = _host_port(node.strip())
        if not host or port is None or not 0 < port < 65536:
            raise refuse(f"has a node {node.strip()!r} that is not host[:port]")
        nodes.append((host, port))
    return nodes, (user, password), tls


def _host_port(node: str) -> tuple[str, int | None]:
    if node.startswith("["):  # an IPv6 address: [::1]:7000
        host, _, port = node[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = node.rpartition(":") if ":" in node else (node, "", "")
    if not port:
        return host, DEFAULT_PORT
    return host, int(port) if port.isdigit() else None
