"""Publishing commands to the shared daily count without writing a batch (``lua/count_day.lua``).

A batch's script call carries the commands its instance spent since its last counted call
(``write_batch_call``'s ``uncounted``). An instance that writes nothing for a while (it only
reads, or only answers its health probe) publishes them with this call instead: three commands
in an active window (``EVALSHA``, ``HMGET``, ``HSET``), six at most.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracesink.errors import StorageError
from tracesink.limits import Policy
from tracesink.store import keys as layout
from tracesink.store.scripts import DAY_MS, LuaScript, ScriptCall, counters_key

COUNT_DAY = LuaScript.load("count_day")


def count_day_call(policy: Policy, now_ms: int, uncounted: int) -> ScriptCall:
    """KEYS and ARGV as the header of count_day.lua lists them (the keys write_batch.lua's
    day count lives in)."""
    index = now_ms // policy.window_ms
    day = now_ms // DAY_MS
    keys = [
        counters_key(policy, index),
        counters_key(policy, index - 1),
        layout.day_key(policy.key_prefix, day),
    ]
    return ScriptCall(COUNT_DAY, keys, [day, uncounted, now_ms, policy.window_ms, policy.ttl_ms])


@dataclass(frozen=True, slots=True)
class DayCount:
    calls: int  # the script's redis.call()s
    count: int  # the day's count after the call, its own commands included


def day_count_reply(reply: object) -> DayCount:
    if (
        not isinstance(reply, list)
        or len(reply) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in reply)
    ):
        raise StorageError("count_day.lua answered something other than {calls, count}")
    return DayCount(reply[0], reply[1])
