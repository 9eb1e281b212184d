"""The Lua scripts of a batch on a Redis Cluster, and the KEYS/ARGV they take.

A script may touch one slot only, so the batch that ``write_batch.lua`` writes in one call on a
single primary takes two steps here (docs/keys.md, "On a Redis Cluster"): ``cluster_decide.lua``
on the counters' slot, then one ``cluster_append.lua`` per slot on its shard. A replay
is ``cluster_replay.lua`` (the counts, once) and the same appends in replay mode (idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracesink.errors import StorageError
from tracesink.limits import LIMIT_LEVELS, Decision, Policy, window_of
from tracesink.model import PreparedEntry
from tracesink.store import keys as layout
from tracesink.store.refusals import DropRun
from tracesink.store.scripts import (
    DAY_MS,
    Args,
    BatchReply,
    LuaScript,
    ScriptCall,
    batch_reply,
    counters_key,
    logs_key,
)

CLUSTER_DECIDE = LuaScript.load("cluster_decide")
CLUSTER_APPEND = LuaScript.load("cluster_append")
CLUSTER_REPLAY = LuaScript.load("cluster_replay")


def _traces(entries: Sequence[PreparedEntry]) -> tuple[list[str], dict[str, int]]:
    """The batch's distinct trace ids in order of arrival, and each one's index (from 1)."""
    traces = list(dict.fromkeys(e.trace_id for e in entries))
    return traces, {trace_id: i for i, trace_id in enumerate(traces, 1)}


def _entries_args(entries: Sequence[PreparedEntry], with_ids: bool) -> Args:
    """The distinct trace ids, then per entry the index of its trace id, its system (and id)."""
    traces, index = _traces(entries)
    args: Args = [len(traces), *traces]
    for entry in entries:
        args += (index[entry.trace_id], entry.system)
        if with_ids:
            args.append(entry.id)
    return args


def decide_call(
    policy: Policy, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str, uncounted: int
) -> ScriptCall:
    """KEYS and ARGV as the header of cluster_decide.lua lists them (no payloads: the
    decision needs none; they go with the appends)."""
    index, elapsed = window_of(now_ms, policy.window_ms)
    day = now_ms // DAY_MS
    keys = [
        counters_key(policy, index),
        counters_key(policy, index - 1),
        layout.day_key(policy.key_prefix, day),
    ]
    args: Args = [now_ms, elapsed, policy.window_ms, policy.ttl_ms]
    args += (policy.global_limit, policy.trace_limit)
    args += (day if policy.shared_budget else -1, uncounted, len(policy.system_limits))
    for system, limit in policy.system_limits.items():
        args += (system, limit)
    args.append(batch_id)
    args += _entries_args(entries, with_ids=True)
    return ScriptCall(CLUSTER_DECIDE, keys, args)


def decide_reply(reply: object, count: int) -> BatchReply:
    """cluster_decide.lua's reply, read as write_batch.lua's (its unmarked and written are the
    appends' to report: zero and none here)."""
    if not isinstance(reply, list) or len(reply) < 3:
        raise StorageError("cluster_decide.lua answered something other than its reply list")
    n_fields = reply[2]
    if not isinstance(n_fields, int):
        raise StorageError("cluster_decide.lua answered a field count that is no number")
    at = 3 + 3 * n_fields
    # write_batch.lua's shape: {calls, unmarked, day, f, triples, w, written..., decisions...}
    return batch_reply([reply[0], 0, reply[1], *reply[2:at], 0, *reply[at:]], count)


def replay_claim_call(
    policy: Policy, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
) -> ScriptCall:
    """KEYS and ARGV as the header of cluster_replay.lua lists them."""
    keys = [
        counters_key(policy, written_ms // policy.window_ms),
        counters_key(policy, now_ms // policy.window_ms),
    ]
    args: Args = [now_ms, policy.window_ms, policy.ttl_ms, batch_id, len(policy.system_limits)]
    args += policy.system_limits
    args += _entries_args(entries, with_ids=False)
    return ScriptCall(CLUSTER_REPLAY, keys, args)


def replay_refused(reply: object) -> set[str]:
    """The ids of a replayed batch's entries its decision refused: the replay stores the rest
    (all of them when the batch was never decided)."""
    if not isinstance(reply, list) or len(reply) != 2 or not isinstance(reply[1], bytes):
        raise StorageError("cluster_replay.lua answered something other than {calls, refused}")
    return set(reply[1].decode().split())


@dataclass(frozen=True, slots=True)
class Share:
    """One trace's part of a cluster_append.lua call: its list and the values for it."""

    trace_id: str
    key: str
    values: Args


def append_shares(
    policy: Policy,
    entries: Sequence[PreparedEntry],
    decisions: Sequence[Decision],
    now_ms: int,
    runs: Sequence[tuple[str, DropRun]],
) -> list[Share]:
    """Each trace's events: its held drop runs first, then its entries in arrival order
    (admitted: the payload; refused: a run of one), as write_batch.lua orders them."""
    events: dict[str, Args] = {}
    for trace_id, run in runs:
        events.setdefault(trace_id, []).extend(
            ["r", *(run.by.get(level, 0) for level in LIMIT_LEVELS), run.first_ms, run.last_ms]
        )
    for entry, decision in zip(entries, decisions, strict=True):
        args = events.setdefault(entry.trace_id, [])
        if decision.limited_by is None:
            args += ("e", entry.payload)
        else:
            by = [int(decision.limited_by == level) for level in LIMIT_LEVELS]
            args += ("r", *by, now_ms, now_ms)
    return [Share(t, logs_key(policy, t), args) for t, args in events.items()]


def replay_shares(policy: Policy, entries: Sequence[PreparedEntry]) -> list[Share]:
    """Each trace's payloads, oldest first, for an idempotent append."""
    payloads: dict[str, Args] = {}
    for entry in entries:
        payloads.setdefault(entry.trace_id, []).append(entry.payload)
    return [Share(t, logs_key(policy, t), args) for t, args in payloads.items()]


def append_call(policy: Policy, now_ms: int, mode: str, shares: Sequence[Share]) -> ScriptCall:
    """KEYS and ARGV as the header of cluster_append.lua lists them; ``mode`` "w" or "r"."""
    args: Args = [now_ms, policy.ttl_ms, policy.expiry_slack_ms, policy.max_trace_entries, mode]
    for share in shares:
        args.append(len(share.values))
        args += share.values
    return ScriptCall(CLUSTER_APPEND, [share.key for share in shares], args)


@dataclass(frozen=True, slots=True)
class AppendReply:
    unmarked: int
    written: bool  # the list was written (and exists now)
    stored: bool  # an entry was pushed now


def append_replies(reply: object, count: int) -> list[AppendReply]:
    """cluster_append.lua's reply for ``count`` keys: one AppendReply each."""
    if (
        not isinstance(reply, list)
        or len(reply) != 1 + 3 * count
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in reply)
    ):
        raise StorageError("cluster_append.lua answered something other than its numbers")
    return [
        AppendReply(unmarked, written == 1, stored == 1)
        for unmarked, written, stored in zip(reply[1::3], reply[2::3], reply[3::3], strict=True)
    ]
