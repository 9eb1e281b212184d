"""The Lua scripts every Redis-protocol store runs, and the KEYS/ARGV they take.

Kept apart from any client so that the native-protocol store (redis-py) and a REST store send
byte-for-byte the same script calls and read the replies the same way. Keys are built by
``store/keys.py`` (docs/keys.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from operator import attrgetter
from typing import cast

from tracesink.errors import StorageError
from tracesink.limits import LIMIT_LEVELS, Decision, Policy, window_of
from tracesink.model import PreparedEntry
from tracesink.store import keys as layout
from tracesink.store.refusals import DropRun
from tracesink.store.script_text import compose

DAY_MS = 86_400_000
_LIMITED_BY = (None, "global", "system", "trace")  # indexed by write_batch.lua's per-entry code
_REPLY_WIDTH = 5  # code, remaining global, remaining system, remaining trace, retry_after_ms

Args = list[int | str | bytes]
_TRACE_ID, _SYSTEM, _PAYLOAD = attrgetter("trace_id"), attrgetter("system"), attrgetter("payload")


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    text: str
    sha: str

    @classmethod
    def load(cls, name: str) -> LuaScript:
        """``lua/<name>.lua`` with its fragments written in (``script_text``): the text Redis
        runs, and its SHA-1, composed once."""
        text = compose(name, _read(f"{name}.lua"), _read)
        return cls(name, text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


def _read(path: str) -> str:
    return resources.files("tracesink.store").joinpath(f"lua/{path}").read_text("utf-8")


@dataclass(frozen=True, slots=True)
class ScriptCall:
    script: LuaScript
    keys: list[str]
    args: Args


WRITE_BATCH = LuaScript.load("write_batch")
REPLAY_BATCH = LuaScript.load("replay_batch")
IMPORT_TRACE = LuaScript.load("import_trace")


def logs_key(policy: Policy, trace_id: str) -> str:
    return layout.trace_key(policy.key_prefix, trace_id)


def counters_key(policy: Policy, index: int) -> str:
    """The counter hash of fixed window ``index`` (``now_ms // window_ms``)."""
    return layout.counters_key(policy.key_prefix, index)


INDEX_CHUNK = 32  # window hashes read per request when listing recent traces


def index_keys(policy: Policy, now_ms: int) -> list[list[str]]:
    """The counter hashes whose l:{trace_id} fields list every trace admitted within the TTL:
    those of the windows from now back to ``now_ms - ttl_ms``, newest first, in chunks. Every
    l: value of a window is later than any of an older window's, so a reader that has found
    ``limit`` traces can stop: the usual TTL of one window needs two hashes, one chunk."""
    index = now_ms // policy.window_ms
    oldest = (now_ms - policy.ttl_ms) // policy.window_ms
    keys = [counters_key(policy, i) for i in range(index, oldest - 1, -1)]
    return [keys[i : i + INDEX_CHUNK] for i in range(0, len(keys), INDEX_CHUNK)]


def _trace_keys(
    policy: Policy, trace_ids: Sequence[str], first_index: int
) -> tuple[list[str], dict[str, int]]:
    traces = list(dict.fromkeys(trace_ids))
    keys = layout.trace_keys(policy.key_prefix, traces)
    # The index map built in C (a Python step per trace was ~0.1 us an entry, issue 27).
    return keys, dict(zip(traces, range(first_index, first_index + len(traces)), strict=True))


def write_batch_call(
    policy: Policy,
    entries: Sequence[PreparedEntry],
    now_ms: int,
    batch_id: str,
    runs: Sequence[tuple[str, DropRun]] = (),
    uncounted: int = 0,
) -> ScriptCall:
    """KEYS and ARGV as the header of write_batch.lua lists them; ``runs`` are drop runs
    (trace id, run) decided without the script, written before the entries; ``uncounted`` the
    commands spent since the last call that counted them (with a shared budget)."""
    index, elapsed = window_of(now_ms, policy.window_ms)
    day = now_ms // DAY_MS
    # Lua counts from 1; the two counter hashes and the day key come first.
    trace_ids = list(map(_TRACE_ID, entries))
    trace_keys, key_index = _trace_keys(policy, [t for t, _ in runs] + trace_ids, 4)
    keys = [counters_key(policy, index), counters_key(policy, index - 1)]
    keys += (layout.day_key(policy.key_prefix, day), *trace_keys)
    args: Args = [now_ms, elapsed, policy.window_ms, policy.ttl_ms, policy.expiry_slack_ms]
    args += (policy.global_limit, policy.trace_limit, layout.trace_lead(policy.key_prefix))
    args += (day if policy.shared_budget else -1, uncounted, policy.max_trace_entries)
    args.append(len(policy.system_limits))
    for system, limit in policy.system_limits.items():
        args += (system, limit)
    args += (batch_id, len(runs))
    for trace_id, run in runs:
        args.append(key_index[trace_id])
        args += [run.by.get(level, 0) for level in LIMIT_LEVELS]
        args += (run.first_ms, run.last_ms)
    # Three values an entry, gathered in C (map, zip, chain): a Python loop over the entries
    # cost ~0.25 us more an entry (timeit, 20 entries).
    indexes = map(key_index.__getitem__, trace_ids)
    args += chain.from_iterable(
        zip(indexes, map(_SYSTEM, entries), map(_PAYLOAD, entries), strict=True)
    )
    return ScriptCall(WRITE_BATCH, keys, args)


def replay_batch_call(
    policy: Policy, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
) -> ScriptCall:
    """KEYS and ARGV as the header of replay_batch.lua lists them."""
    trace_keys, key_index = _trace_keys(policy, [e.trace_id for e in entries], 3)
    keys = [
        counters_key(policy, written_ms // policy.window_ms),
        counters_key(policy, now_ms // policy.window_ms),
        *trace_keys,
    ]
    args: Args = [now_ms, policy.window_ms, policy.ttl_ms, policy.expiry_slack_ms, batch_id]
    args += (layout.trace_lead(policy.key_prefix), policy.max_trace_entries)
    args.append(len(policy.system_limits))
    args += policy.system_limits
    for entry in entries:
        args += (key_index[entry.trace_id], entry.system, entry.payload)
    return ScriptCall(REPLAY_BATCH, keys, args)


def import_trace_call(
    policy: Policy, trace_id: str, items: Sequence[bytes], replace: bool
) -> ScriptCall:
    """KEYS and ARGV as the header of import_trace.lua lists them: the list lives as long as
    after a write (``ttl_ms + slack_ms``)."""
    args: Args = [1 if replace else 0, policy.ttl_ms + policy.expiry_slack_ms, *items]
    return ScriptCall(IMPORT_TRACE, [logs_key(policy, trace_id)], args)


@dataclass(frozen=True, slots=True)
class BatchReply:
    """write_batch.lua's reply: its inner calls, drops left unmarked (their trace has no list),
    the counts of every field it read (this window's after the batch, the previous window's),
    and one decision per entry."""

    calls: int
    unmarked: int
    day_commands: int  # the day's shared command count after this call; -1: not counted
    counts: list[tuple[str, int, int]]
    written: list[int]  # KEYS indexes (from 1) of the lists the call wrote
    decisions: list[Decision]


def _as_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes | str):
        return int(value)
    raise StorageError(f"write_batch.lua answered {type(value).__name__} where a number belongs")


def _as_str(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise StorageError(f"write_batch.lua answered {type(value).__name__} where a field belongs")


def _ints(values: list[object]) -> list[int]:
    """``values`` as integers: redis-py already gives them so (checked in one pass, in C); a REST
    client's may come as strings."""
    if set(map(type, values)) <= _INT_ONLY:
        return cast(list[int], values)
    return [_as_int(v) for v in values]


_INT_ONLY = {int}
_BYTES_ONLY = {bytes}


def batch_reply(reply: object, count: int) -> BatchReply:
    """write_batch.lua's reply, checked, for a call of ``count`` entries.

    Read in slices rather than value by value: a reply holds a few hundred values under load
    (three per counter field, five per entry), and a call per value was ~5 % of the server's CPU
    on single entries (py-spy, issue 10)."""
    if not isinstance(reply, list) or len(reply) < 4:
        raise StorageError("write_batch.lua answered something other than its reply list")
    n_fields = _as_int(reply[3])
    at = fields_end = 4 + 3 * n_fields
    n_written = _as_int(reply[at]) if len(reply) > at else -1
    written = _ints(reply[at + 1 : at + 1 + n_written])
    at += 1 + n_written
    if n_written < 0 or len(reply) != at + _REPLY_WIDTH * count:
        raise StorageError("write_batch.lua answered a reply of the wrong length")
    names = reply[4:fields_end:3]
    if set(map(type, names)) <= _BYTES_ONLY:
        names = list(map(bytes.decode, names))
    else:
        names = [_as_str(name) for name in names]
    in_curr = _ints(reply[5:fields_end:3])
    in_prev = _ints(reply[6:fields_end:3])
    counts = list(zip(names, in_curr, in_prev, strict=True))
    values = _ints(reply[at:])
    decisions = [
        Decision(
            _LIMITED_BY[code],
            {"global": left_global, "system": left_system, "trace": left_trace}
            if left_system >= 0
            else {"global": left_global, "trace": left_trace},
            wait,
        )
        for code, left_global, left_system, left_trace, wait in zip(
            *(values[i::_REPLY_WIDTH] for i in range(_REPLY_WIDTH)), strict=True
        )
    ]
    calls, unmarked, day_commands = _ints(reply[:3])
    return BatchReply(calls, unmarked, day_commands, counts, written, decisions)
