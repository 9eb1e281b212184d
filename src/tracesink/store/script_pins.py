"""Pins on the Redis-protocol stores: ``pin.lua``'s calls and replies, and the keys it uses.

Kept apart from ``script_store.py`` (which calls these) so that the pin's whole contract with
Redis reads in one place: KEYS and ARGV as pin.lua's header lists them, its reply as a
``PinOutcome``.
"""

from __future__ import annotations

from datetime import datetime

from tracesink.errors import StorageError
from tracesink.limits import Policy
from tracesink.store import keys as layout
from tracesink.store.items import decode_items, is_entry
from tracesink.store.pinning import PinBounds, PinOutcome, PinStatus
from tracesink.store.scripts import LuaScript, ScriptCall

PIN = LuaScript.load("pin")
_STATUS = {1: PinStatus.PINNED, 0: PinStatus.NO_TRACE, -1: PinStatus.TOO_MANY}


def pin_key(policy: Policy, trace_id: str) -> str:
    return layout.pin_key(policy.key_prefix, trace_id)


def pins_key(policy: Policy) -> str:
    return layout.pins_key(policy.key_prefix)


def pin_call(
    policy: Policy, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds | None
) -> ScriptCall:
    """A pin to ``until_ms``, or (``until_ms`` 0, no bounds) an unpin."""
    keys = [
        layout.trace_key(policy.key_prefix, trace_id),
        pin_key(policy, trace_id),
        pins_key(policy),
    ]
    limits = (bounds.max_pins, bounds.max_bytes) if bounds is not None else (0, 0)
    args: list[int | str | bytes] = [now_ms, trace_id, until_ms, policy.ttl_ms]
    args += (policy.expiry_slack_ms, *limits)
    return ScriptCall(PIN, keys, args)


def pin_reply(reply: object) -> tuple[int, int, int]:
    """(status, a, b) of pin.lua's reply ``{calls, status, a, b}``."""
    if not isinstance(reply, list) or len(reply) != 4:
        raise StorageError("pin.lua answered something other than {calls, status, a, b}")
    try:
        _, status, a, b = (int(v) for v in reply)
    except (TypeError, ValueError):
        raise StorageError("pin.lua answered something other than numbers") from None
    return status, a, b


def pin_outcome(reply: object) -> PinOutcome:
    status, a, b = pin_reply(reply)
    if status == 1:
        return PinOutcome(PinStatus.PINNED, a, expires_at_ms=b)
    if status == -2:
        return PinOutcome(PinStatus.TOO_LARGE, b, a)
    if status in _STATUS:
        return PinOutcome(_STATUS[status], held=a)
    raise StorageError(f"pin.lua answered status {status}")


def last_written_ms(items: list[bytes], default: int) -> int:
    """When the newest entry of a list (newest first) was received: a pinned trace's place in
    the recent list once its admission has left the index (``l:`` fields live a TTL)."""
    for item in decode_items(items[:1]):
        received = item.get("received_at") if is_entry(item) else None
        if isinstance(received, str):
            try:
                at = datetime.fromisoformat(received.replace("Z", "+00:00"))
                return round(at.timestamp() * 1000)
            except ValueError:
                break
    return default
