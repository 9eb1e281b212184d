"""Pins on a Redis Cluster: pin.lua's steps run apart, each on one slot (``lua/cluster_pin.lua``).

A pin measures the trace's list (its slot), claims a place within the bounds in the pins' index
(the slot of ``{tracesink}``: the bounds stay exact whatever instance pins), then moves the
list's expiry and sets the pin's key (the trace's slot again): three round trips where a single
primary takes one. An unpin takes two. A failure in between answers an error; pinning or
unpinning again completes it.
"""

from __future__ import annotations

from tracesink.store.pinning import PinBounds, PinOutcome, PinStatus
from tracesink.store.script_pins import pin_key, pin_outcome, pin_reply, pins_key
from tracesink.store.script_store import ScriptStore
from tracesink.store.scripts import Args, LuaScript, ScriptCall, logs_key

CLUSTER_PIN = LuaScript.load("cluster_pin")


class ClusterPins(ScriptStore):
    """``pin`` and ``unpin`` of the cluster store (the rest of the pins' reads are plain
    commands, on one slot each, as on a single primary)."""

    def _pin_step(self, step: str, trace_id: str, now_ms: int, *args: int) -> ScriptCall:
        policy = self._policy
        if step in ("claim", "drop"):
            keys = [pins_key(policy)]
        else:
            keys = [logs_key(policy, trace_id), pin_key(policy, trace_id)]
        argv: Args = [step, now_ms, trace_id, *args]
        return ScriptCall(CLUSTER_PIN, keys, argv)

    async def pin(self, trace_id: str, until_ms: int, now_ms: int, bounds: PinBounds) -> PinOutcome:
        await self.flush_drops(trace_id)  # held drops first: they would extend the list after
        policy = self._policy
        with self._errors("pin a trace"):
            measure = self._pin_step(
                "measure", trace_id, now_ms, policy.ttl_ms, policy.expiry_slack_ms
            )
            found, size, normal_end = pin_reply(await self._run(measure))
            if found != 1:
                return PinOutcome(PinStatus.NO_TRACE)
            limits = (bounds.max_pins, bounds.max_bytes)
            claim = self._pin_step("claim", trace_id, now_ms, until_ms, size, *limits)
            claimed = await self._run(claim)
            if pin_reply(claimed)[0] != 1:
                return pin_outcome(claimed)
            ends = max(until_ms, normal_end)
            pin_reply(await self._run(self._pin_step("apply", trace_id, now_ms, until_ms, ends)))
        return PinOutcome(PinStatus.PINNED, size, expires_at_ms=ends)

    async def unpin(self, trace_id: str, now_ms: int) -> bool:
        await self.flush_drops(trace_id)
        policy = self._policy
        with self._errors("unpin a trace"):
            pin_reply(await self._run(self._pin_step("drop", trace_id, now_ms)))
            release = self._pin_step(
                "release", trace_id, now_ms, policy.ttl_ms, policy.expiry_slack_ms
            )
            status, _, _ = pin_reply(await self._run(release))
        return status == 1
