"""The Lua scripts every Redis-protocol store runs, and the KEYS/ARGV they take.

Kept apart from any client so that the native-protocol store (redis-py) and a REST store send
byte-for-byte the same script calls and read the replies the same way. Key names are documented
in docs/keys.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from tracesink.limits import Decision, Policy, window_of
from tracesink.model import PreparedEntry

LOGS_PREFIX = "logs:"
COUNTERS_PREFIX = "tracesink:rl:"
TRACES_KEY = "tracesink:traces"
_LIMITED_BY = (None, "global", "system", "trace")  # indexed by write_batch.lua's per-entry code
_REPLY_WIDTH = 5  # code, remaining global, remaining system, remaining trace, retry_after_ms

Args = list[int | str | bytes]


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    text: str
    sha: str

    @classmethod
    def load(cls, name: str) -> LuaScript:
        text = resources.files("tracesink.store").joinpath(f"lua/{name}.lua").read_text("utf-8")
        return cls(name, text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())


@dataclass(frozen=True, slots=True)
class ScriptCall:
    script: LuaScript
    keys: list[str]
    args: Args

    @property
    def size(self) -> int:
        """Bytes of keys and arguments (the script itself goes by its 40-byte sha)."""
        return (
            40
            + sum(len(k) for k in self.keys)
            + sum(len(a) if isinstance(a, bytes | str) else len(str(a)) for a in self.args)
        )


WRITE_BATCH = LuaScript.load("write_batch")
REPLAY_BATCH = LuaScript.load("replay_batch")


def counters_key(now_ms: int, window_ms: int) -> str:
    return f"{COUNTERS_PREFIX}{now_ms // window_ms}"


def _trace_keys(
    entries: Sequence[PreparedEntry], first_index: int
) -> tuple[list[str], dict[str, int]]:
    traces = list(dict.fromkeys(entry.trace_id for entry in entries))
    keys = [LOGS_PREFIX + trace_id for trace_id in traces]
    return keys, {trace_id: first_index + i for i, trace_id in enumerate(traces)}


def write_batch_call(
    policy: Policy, entries: Sequence[PreparedEntry], now_ms: int, batch_id: str
) -> ScriptCall:
    """KEYS and ARGV as the header of write_batch.lua lists them."""
    index, elapsed = window_of(now_ms, policy.window_ms)
    trace_keys, key_index = _trace_keys(entries, 4)  # Lua counts from 1; three keys come first
    keys = [f"{COUNTERS_PREFIX}{index}", f"{COUNTERS_PREFIX}{index - 1}", TRACES_KEY, *trace_keys]
    args: Args = [now_ms, elapsed, policy.window_ms, policy.ttl_ms, policy.global_limit]
    args += (policy.trace_limit, len(policy.system_limits))
    for system, limit in policy.system_limits.items():
        args += (system, limit)
    args.append(batch_id)
    for entry in entries:
        args += (key_index[entry.trace_id], entry.system, entry.payload)
    return ScriptCall(WRITE_BATCH, keys, args)


def replay_batch_call(
    policy: Policy, batch_id: str, entries: Sequence[PreparedEntry], written_ms: int, now_ms: int
) -> ScriptCall:
    """KEYS and ARGV as the header of replay_batch.lua lists them."""
    trace_keys, key_index = _trace_keys(entries, 4)
    keys = [
        counters_key(written_ms, policy.window_ms),
        counters_key(now_ms, policy.window_ms),
        TRACES_KEY,
        *trace_keys,
    ]
    args: Args = [now_ms, policy.window_ms, policy.ttl_ms, batch_id, len(policy.system_limits)]
    args += policy.system_limits
    for entry in entries:
        args += (key_index[entry.trace_id], entry.system, entry.payload)
    return ScriptCall(REPLAY_BATCH, keys, args)


def decisions_from(reply: Sequence[int], count: int) -> list[Decision]:
    """write_batch.lua's reply (after its leading call count) as Decisions."""
    decisions = []
    for start in range(1, 1 + _REPLY_WIDTH * count, _REPLY_WIDTH):
        code, left_global, left_system, left_trace, wait = reply[start : start + _REPLY_WIDTH]
        remaining = {"global": left_global}
        if left_system >= 0:
            remaining["system"] = left_system
        remaining["trace"] = left_trace
        decisions.append(Decision(_LIMITED_BY[code], remaining, wait))
    return decisions
