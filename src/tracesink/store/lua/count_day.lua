--[[ count_day.lua: add commands to the shared daily count without writing a batch.

The count is the one write_batch.lua keeps (field c:{day} of the current window's hash, taken
over from the previous window's hash or from the day key when this window has none yet); an
instance whose commands no batch carried (one that only reads, or is idle but probed) adds them
here, so every instance's budget guard sees them. Needs no key of its own.

KEYS[1] <prefix>rl:{tracesink}:<window>      HASH    the current fixed window's counters
KEYS[2] <prefix>rl:{tracesink}:<window - 1>  HASH    the previous window's
KEYS[3] <prefix>day:{tracesink}:<day>        STRING  the day's count carried over a quiet window

ARGV[1] the UTC day   ARGV[2] commands to add (the caller's, spent before this call)
ARGV[3] now_ms   ARGV[4] window_ms   ARGV[5] ttl_ms

Returns {calls, the day's count after this call}: this call's own commands (the EVALSHA too)
are counted in it, and calls counts its redis.call()s, as write_batch.lua's reply does.
]]

--#include lib/calls.lua

local field = "c:" .. ARGV[1]
local added = tonumber(ARGV[2])
local now, window, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local got = call("HMGET", KEYS[1], field, "g")
local count = tonumber(got[1])
-- Every admission counts "g" and every count writes c:{day}: with neither, the hash is new.
local new_hash = count == nil and not got[2]
if count == nil then
  count = tonumber(call("HGET", KEYS[2], field))
  if count == nil then count = tonumber(call("GET", KEYS[3])) or 0 end
  -- As write_batch.lua does when it takes the count over: kept until the day is over.
  call("SET", KEYS[3], count, "PX", 86400000 - now % 86400000 + window)
end
-- This call's commands: those so far, the HSET (and PEXPIRE) to come, and the EVALSHA.
local still = 2
if new_hash then still = 3 end
count = count + added + calls + still
call("HSET", KEYS[1], field, count)
if new_hash then call("PEXPIRE", KEYS[1], window + math.max(window, ttl)) end
return {calls, count}
