--[[ import_trace.lua: restore an exported trace into its list, in one atomic step.

An import is not ingest (docs/reading.md, "Export and import"): nothing is decided against the
limits and nothing is counted in the windows; the items (entries and markers, validated by the
caller as ingest validates entries) are written as they were exported, oldest first, and the list
gets a fresh TTL, or keeps the longer expiry of the list it replaces (a pinned trace's: pin.lua
set it, and an import must not shorten a pin). Only the trace's own list is touched, so the call runs on a Redis Cluster too
(the recent-traces index is written by the caller, apart: it only lists the trace).

Keys as store/keys.py builds them (braces literal: the variable part is the hash tag):
KEYS[1]    <prefix>logs:{<trace_id>}  LIST  the trace's items, newest at the head

ARGV[1] replace: 1 to replace a list that exists, 0 to leave it as it is and say so
ARGV[2] expire_ms: the list's TTL from now (ttl_ms + slack_ms, as a write sets it)
ARGV[3 ..] the items, oldest first, each stored verbatim

Returns {calls, stored}: calls counts this script's redis.call()s (a hosted Redis bills each);
stored is 1 when the items were written, 0 when the list exists and replace was 0 (nothing
written).
]]

--#include lib/calls.lua

local expire_ms = tonumber(ARGV[2])
if call("EXISTS", KEYS[1]) == 1 then
  if ARGV[1] ~= "1" then
    return {calls, 0}
  end
  expire_ms = math.max(expire_ms, call("PTTL", KEYS[1]))
  call("DEL", KEYS[1])
end
-- Oldest first in LPUSH leaves the newest at the head, as write_batch.lua stores them.
for i = 3, #ARGV, CHUNK do
  call("LPUSH", KEYS[1], unpack(ARGV, i, math.min(i + CHUNK - 1, #ARGV)))
end
call("PEXPIRE", KEYS[1], expire_ms)
return {calls, 1}
