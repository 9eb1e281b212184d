--[[ cluster_pin.lua: pin.lua's steps on a Redis Cluster, each on one slot.

pin.lua touches a trace's list and pin (the trace's slot) and the pins' index (the slot of
{tracesink}) in one call, which a Cluster refuses (CROSSSLOT). store/cluster_pins.py runs its
steps apart, in this order (ARGV[1] names the step):

pin:    "measure" (trace slot)  the list's bytes and its normal end
        "claim"   (index slot)  the bounds checked against the other live pins, the pin recorded
        "apply"   (trace slot)  the list's expiry moved to the pin's end, the pin's key set
unpin:  "drop"    (index slot)  the pin out of the index
        "release" (trace slot)  the pin's key deleted, the list's normal expiry given back

A failure between two steps leaves a pin claimed but not applied (the caller is told it failed,
and pins again or unpins: each step is safe to repeat), never a list kept without its pin
counted. The bounds, the statuses and the expiry are pin.lua's, from the same source
(lib/pins.lua).

KEYS for "measure", "apply", "release": <prefix>logs:{<trace_id>}, <prefix>pin:{<trace_id>}
KEYS for "claim", "drop":               <prefix>pins:{tracesink}

ARGV[1] the step   ARGV[2] now_ms   ARGV[3] the trace id, then per step:
  "measure": ttl_ms, slack_ms          "claim": until_ms, the trace's bytes, max_pins, max_bytes
  "apply": until_ms, the list's end    "release": ttl_ms, slack_ms        "drop": nothing

Returns {calls, status, a, b}: "measure" 1 (a: bytes, b: the list's normal end) or 0 (no list);
"claim" as pin.lua's pin (1, or -1 / -2 refused, with its a and b); "apply" 1; "drop" 1;
"release" as pin.lua's unpin (1 with the list's expiry ms or 0 when it went; 0: not pinned).
]]

--#include lib/calls.lua
--#include lib/pins.lua

local step, now, trace_id = ARGV[1], tonumber(ARGV[2]), ARGV[3]

if step == "measure" then
  local ttl, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
  local size, head = measure(KEYS[1])
  if size == nil then return {calls, 0, 0, 0} end
  return {calls, 1, size, normal_end(head, now, ttl, slack)}
end

if step == "claim" then
  local until_ms, size = tonumber(ARGV[4]), tonumber(ARGV[5])
  local max_pins, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])
  local status, a, b = claim(KEYS[1], trace_id, until_ms, size, now, max_pins, max_bytes)
  return {calls, status, a, b}
end

if step == "apply" then
  apply_pin(KEYS[1], KEYS[2], ARGV[4], tonumber(ARGV[5]), now)
  return {calls, 1, 0, 0}
end

if step == "drop" then
  call("HDEL", KEYS[1], trace_id)
  return {calls, 1, 0, 0}
end

-- "release"
local status, ends = release(KEYS[1], KEYS[2], now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return {calls, status, ends, 0}
