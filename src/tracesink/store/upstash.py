"""The Upstash store over its REST API (``upstash+https://``, ``upstash+http://``, ``upstash``).

The same Lua scripts, keys (docs/keys.md) and script calls as ``RedisStore``, sent as JSON over
HTTP(S) by ``rest_client.RestClient`` (which says why it is not the official SDK):

- a batch is one ``EVALSHA`` of ``lua/write_batch.lua`` by ``POST /``, atomic on Upstash as on
  Redis; after ``NOSCRIPT`` the script is loaded (``SCRIPT LOAD``) and the ``EVALSHA`` sent again,
  which is safe because a refused ``EVALSHA`` ran nothing. Nothing else is ever sent twice: a
  write that timed out may have run, so it fails with ``StorageError`` and the caller spools it;
  its batch id lets ``replay_batch`` recognise it if it was stored after all;
- reads go by ``POST /pipeline`` (``LRANGE`` + ``PTTL``; ``ZREVRANGEBYSCORE``, then ``LRANGE``
  per trace), each command's error mapped on its own.

Upstash may refuse a request over 1 MB (``ERR max request size exceeded``; "Free" and "Pay as you
go" plans). A batch whose script call would be larger is split into consecutive sub-batches, each
its own script call and atomic on its own (not together: another instance's batch can land
between two of them). Decisions are concatenated in order; since each sub-batch sees what the
previous ones admitted, they equal what one call would have decided, and the lists hold the same
items. Sub-batch ``k > 0`` is recorded under batch id ``{batch_id}+{k}``; the split depends only on
the entries and the size bound, so ``replay_batch`` splits a spooled batch the same way and skips
exactly the sub-batches that were stored. An entry too large for the bound on its own (the ingest
limits keep entries far below it) is sent alone: a plan with a larger limit takes it.

Configuration: ``upstash+https://:TOKEN@host`` (the token in the URL's password slot; a bare
``TOKEN@host`` works too), ``upstash+http://…`` for a local REST-compatible server, or
``upstash`` alone with ``UPSTASH_REDIS_REST_URL`` and ``UPSTASH_REDIS_REST_TOKEN``, as Upstash's
console hands them out. Constructing the store never connects.

Upstash bills every command, a script's inner calls included: ``usage`` counts 1 per command sent
(pipelined ones each) plus the inner calls each script reports, exactly as ``RedisStore`` does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import msgspec

from tracesink.errors import ConfigurationError, StorageError, ValidationError
from tracesink.limits import Policy
from tracesink.masking import mask_url
from tracesink.model import PreparedEntry
from tracesink.store.keys import trace_key
from tracesink.store.rest_client import Arg, CommandError, Reply, RestClient, encode_command
from tracesink.store.script_store import ScriptStore
from tracesink.store.scripts import ScriptCall, import_trace_call

URL_VARIABLE = "UPSTASH_REDIS_REST_URL"
TOKEN_VARIABLE = "UPSTASH_REDIS_REST_TOKEN"  # noqa: S105  (the variable's name, not a token)
CONNECT_TIMEOUT_S = 2.0
# A script over a full batch runs in well under a millisecond; this covers the round trip of a
# 1 MB request to a distant region with plenty to spare.
COMMAND_TIMEOUT_S = 5.0
# Upstash refuses requests over 1 MB on its "Free" and "Pay as you go" plans.
MAX_REQUEST_BYTES = 1_000_000
# Bytes of a script call's body other than its entries: command, sha, key count, the counter and
# index keys, the policy's numbers and at most three system limits come to about 300 bytes.
CALL_OVERHEAD_BYTES = 1024
PART_SEPARATOR = "+"  # sub-batch k > 0 of batch B is recorded as batch B+k
_PART_SUFFIX_BYTES = 8


@dataclass(frozen=True, slots=True)
class Endpoint:
    base_url: str  # http(s)://host[:port][/path], no credentials
    token: str
    display: str  # the store URL with the token masked


class UpstashStore(ScriptStore):
    # The REST client already speaks StorageError; this adds which store and what it was doing.
    driver_errors = (StorageError,)
    # An HTTP round trip is long: let the writer keep this many steps in flight (BENCHMARKS.md).
    max_in_flight = 2
    # A REST read is a round trip of milliseconds, not microseconds: more of them may overlap.
    read_slots = 8

    def __init__(
        self,
        url: str,
        policy: Policy,
        *,
        environ: Mapping[str, str] | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        timeout_s: float = COMMAND_TIMEOUT_S,
    ) -> None:
        endpoint = parse_endpoint(url, os.environ if environ is None else environ)
        super().__init__(policy, endpoint.display)
        self._max_request_bytes = max_request_bytes
        # Two clients, two connection pools: the writer's (script calls, PING) and the reads'
        # (at most ``read_slots`` requests at once), so reads never take the writer's connections.
        self._rest, self._rest_reads = (
            RestClient(
                endpoint.base_url,
                endpoint.token,
                timeout_s=timeout_s,
                connect_timeout_s=min(CONNECT_TIMEOUT_S, timeout_s),
            )
            for _ in range(2)
        )

    def __repr__(self) -> str:
        return f"UpstashStore({self._display!r})"

    def _parts(
        self, batch_id: str, entries: Sequence[PreparedEntry]
    ) -> list[tuple[str, Sequence[PreparedEntry]]]:
        """The sub-batches (with their batch ids) whose script calls each fit the bound."""
        budget = (
            self._max_request_bytes
            - CALL_OVERHEAD_BYTES
            - len(msgspec.json.encode(batch_id))
            - _PART_SUFFIX_BYTES
        )
        parts = split_entries(entries, budget)
        return [
            (batch_id if k == 0 else f"{batch_id}{PART_SEPARATOR}{k}", part)
            for k, part in enumerate(parts)
        ]

    async def _run(self, call: ScriptCall) -> object:
        script, keys = call.script, call.keys
        body = encode_command(["EVALSHA", script.sha, len(keys), *keys, *call.args])
        try:
            reply = await self._rest.command(body)
        except CommandError as exc:
            if not exc.message.startswith("NOSCRIPT"):
                raise
            # A flushed, restarted or failed-over database has forgotten the script; the refused
            # EVALSHA ran nothing, so sending it again cannot store anything twice.
            self._server_forgot()
            self.usage.commands += 2  # the refused EVALSHA and the SCRIPT LOAD
            self.usage.bytes_sent += len(script.text)
            loaded = await self._rest.command(["SCRIPT", "LOAD", script.text])
            if loaded != script.sha.encode():
                raise StorageError(
                    f"SCRIPT LOAD answered {loaded!r}, not the script's sha"
                ) from exc
            reply = await self._rest.command(body)
        if not isinstance(reply, list) or not reply or not isinstance(reply[0], int):
            raise StorageError("the script answered something other than its reply list")
        self.usage.commands += 1 + reply[0]
        self.usage.bytes_sent += len(body)
        return reply

    async def import_trace(
        self, trace_id: str, items: Sequence[bytes], now_ms: int, replace: bool
    ) -> bool:
        """As every script store does, but a call past the request bound is refused (413) before
        it is sent: one import is one atomic call, which cannot be split as a batch is."""
        call = import_trace_call(self._policy, trace_id, items, replace)
        size = len(encode_command(["EVALSHA", call.script.sha, 1, *call.keys, *call.args]))
        if size > self._max_request_bytes:
            raise ValidationError(
                f"this import is a {size}-byte request; Upstash takes at most "
                f"{self._max_request_bytes} bytes per request: import a filtered export, or "
                "into a Redis store",
                field="body",
                status=413,
            )
        return await super().import_trace(trace_id, items, now_ms, replace)

    async def _commands(
        self, commands: Sequence[Sequence[Arg]], *, writer: bool = False
    ) -> list[object]:
        return list(await self._pipeline(commands, writer=writer))

    async def _pipeline(self, commands: Sequence[Sequence[Arg]], *, writer: bool) -> list[Reply]:
        client = self._rest if writer else self._rest_reads
        results = await client.pipeline(commands)
        self.usage.commands += len(commands)
        for command, result in zip(commands, results, strict=True):
            if isinstance(result, CommandError):
                raise StorageError(f"{command[0]!s} failed: {result.message}")
        return [result for result in results if not isinstance(result, CommandError)]

    async def ping(self) -> None:
        with self._errors("ping"):
            await self._rest.command(["PING"])
        self.usage.commands += 1

    async def close(self) -> None:
        await self._close_flusher()
        await self._rest.aclose()
        await self._rest_reads.aclose()


def split_entries(entries: Sequence[PreparedEntry], budget: int) -> list[Sequence[PreparedEntry]]:
    """Consecutive runs of ``entries`` whose part of a script call's JSON body fits ``budget``
    bytes (an entry too large on its own makes a run of one). Depends on nothing but the entries
    and the budget, so a write and the replay of the same batch split alike."""
    index_bytes = len(str(len(entries) + 3)) + 1  # its trace's KEYS index and a comma
    # JSON escapes a byte to at most 6 (\u00XX): most batches fit without measuring each entry.
    at_most = sum(6 * len(e.payload) + 3 + _fixed_bytes(e, index_bytes) for e in entries)
    if at_most <= budget:
        return [entries]
    parts: list[Sequence[PreparedEntry]] = []
    part: list[PreparedEntry] = []
    traces: set[str] = set()
    used = 0
    for entry in entries:
        payload = len(msgspec.json.encode(entry.payload.decode("utf-8", "replace"))) + 1
        cost = payload + _fixed_bytes(entry, index_bytes, with_key=entry.trace_id not in traces)
        if part and used + cost > budget:
            parts.append(part)
            part, used, traces = [], 0, set()
            cost = payload + _fixed_bytes(entry, index_bytes)
        part.append(entry)
        used += cost
        traces.add(entry.trace_id)
    parts.append(part)
    return parts


def _fixed_bytes(entry: PreparedEntry, index_bytes: int, *, with_key: bool = True) -> int:
    """An entry's bytes besides its payload: index, system, and its trace's key if new."""
    # System names and trace ids are plain ASCII that JSON does not escape.
    key = len(trace_key("", entry.trace_id)) + 3 if with_key else 0
    return index_bytes + len(entry.system) + 3 + key


def parse_endpoint(url: str, environ: Mapping[str, str]) -> Endpoint:
    """Where and with which token to talk REST, from a store URL (or, for the bare ``upstash``,
    from the environment); ConfigurationError naming what is wrong, never showing the token."""
    if url.strip().lower() in ("upstash", "upstash://"):
        rest_url = environ.get(URL_VARIABLE, "").strip()
        token = environ.get(TOKEN_VARIABLE, "").strip()
        missing = [
            name for name, value in ((URL_VARIABLE, rest_url), (TOKEN_VARIABLE, token)) if not value
        ]
        if missing:
            raise ConfigurationError(
                f"TRACESINK_STORE=upstash reads {URL_VARIABLE} and {TOKEN_VARIABLE} (as Upstash's "
                f"console shows them) from the environment; not set: {', '.join(missing)}"
            )
        scheme, _, rest = rest_url.partition("://")
        where = f"{URL_VARIABLE}={mask_url(rest_url)!r}"
    else:
        scheme, _, rest = url.strip().partition("://")
        scheme = scheme.lower().removeprefix("upstash+")
        where = f"TRACESINK_STORE={mask_url(url)!r}"
        token = ""
    parts = urlsplit(f"{scheme.lower()}://{rest}")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(
            f"{where} is not a REST URL: expected upstash+https://:TOKEN@HOST "
            "(upstash+http:// for a local server), or TRACESINK_STORE=upstash with "
            f"{URL_VARIABLE} and {TOKEN_VARIABLE}"
        )
    try:
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError(f"{where} has an invalid port") from None
    userinfo, _, host = parts.netloc.rpartition("@")
    if not token:  # the URL's password slot, or a bare token@
        token = unquote(userinfo.partition(":")[2] if ":" in userinfo else userinfo)
    if not token:
        raise ConfigurationError(
            f"{where} has no token: put it in the password slot (upstash+https://:TOKEN@HOST), "
            f"or use TRACESINK_STORE=upstash with {URL_VARIABLE} and {TOKEN_VARIABLE}"
        )
    if not (token.isascii() and token.isprintable()):
        raise ConfigurationError(f"{where}: the token has characters an HTTP header cannot carry")
    path = parts.path.rstrip("/")
    return Endpoint(
        base_url=f"{parts.scheme}://{host}{path}",
        token=token,
        display=mask_url(f"upstash+{parts.scheme}://:{token}@{host}{path}"),
    )
