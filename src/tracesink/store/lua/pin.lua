--[[ pin.lua: pin a trace (keep it past the TTL), or unpin it, in one atomic step.

A pin is bounded: at most max_pins pins, whose traces' bytes (measured when pinned) add up to at
most max_bytes. A pinned trace's list expires at max(the pin's end, its normal expiry); writes
to it (write_batch.lua, replay_batch.lua) set expiry with PEXPIRE ... GT, which never shortens
it. Expiry is set relative to now_ms (PEXPIRE, as write_batch.lua does), so the caller's
clock, not the server's, says when a pin ends. Unpinning restores the normal expiry: ttl + slack after the trace's newest item (its
received_at, or a drop marker's last), so a trace whose hour has passed goes at once.
The steps are lib/pins.lua's, which cluster_pin.lua runs apart on a cluster.
Key layout and what each command costs: docs/keys.md.

KEYS[1]  <prefix>logs:{<trace_id>}   LIST    the trace
KEYS[2]  <prefix>pin:{<trace_id>}    STRING  the pin's end (ms), expiring then
KEYS[3]  <prefix>pins:{tracesink}    HASH    trace id -> "<until>:<bytes>:<pinned at>", every pin

ARGV[1] now_ms   ARGV[2] the trace id   ARGV[3] until_ms, the pin's end (0: unpin)
ARGV[4] ttl_ms   ARGV[5] slack_ms   ARGV[6] max_pins   ARGV[7] max_bytes

Returns {calls, status, a, b}: calls counts this script's redis.call()s (a hosted Redis bills
each). Pin: status 1 pinned (a: the trace's bytes, b: the list's expiry ms), 0 no such trace,
-1 refused by the count (a: pins held), -2 refused by the bytes (a: bytes held, b: this trace's).
Unpin: status 1 unpinned (a: the list's expiry ms, 0 when it went at once), 0 it was not pinned.
]]

--#include lib/calls.lua
--#include lib/pins.lua

local now, trace_id, until_ms = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local ttl, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_pins, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])

if until_ms == 0 then
  call("HDEL", KEYS[3], trace_id)
  local status, ends = release(KEYS[1], KEYS[2], now, ttl, slack)
  return {calls, status, ends, 0}
end

local size, head = measure(KEYS[1])
if size == nil then return {calls, 0, 0, 0} end
local status, a, b = claim(KEYS[3], trace_id, until_ms, size, now, max_pins, max_bytes)
if status ~= 1 then return {calls, status, a, b} end
local ends = math.max(until_ms, normal_end(head, now, ttl, slack))
apply_pin(KEYS[1], KEYS[2], ARGV[3], ends, now)
return {calls, 1, size, ends}
