--[[ replay_batch.lua: store, exactly once, a batch admitted and spooled during a store outage.

The entries were already admitted (by this instance's local counters) and acknowledged with 202,
so they are not decided again: they are appended and counted into the current window, so that
the shared limits know about them from now on. The batch id makes a replay idempotent: the
original write_batch.lua records b:{id} in its window's hash when the batch admitted anything
(it may have run after all, its reply lost), and this script records it on success, so a crash
between "stored" and "removed from the spool" cannot store a batch twice.

KEYS[1]    tracesink:rl:{window of the original attempt}  HASH  holds b:{batch_id} once stored
KEYS[2]    tracesink:rl:{current window}                  HASH  counters the entries join
KEYS[3]    tracesink:traces                               ZSET  trace_id -> last admission (ms)
KEYS[4..]  logs:{trace_id}                                LIST  one key per distinct trace

ARGV[1] now_ms   ARGV[2] window_ms   ARGV[3] ttl_ms   ARGV[4] batch_id
ARGV[5] n, the number of systems that have a limit; ARGV[6 .. 5 + n]: their names
then three values per entry, oldest first: the KEYS index of its trace's list, its system, its
payload

Returns {calls, stored}: calls counts this script's redis.call()s (a hosted Redis bills each);
stored is 1 when the batch was stored now, 0 when it had been stored before.
]]

local CHUNK = 4000  -- unpack() is bounded by Lua's C stack
local LOGS_PREFIX_LEN = string.len("logs:")

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local marker = "b:" .. ARGV[4]
if call("HEXISTS", KEYS[1], marker) == 1 then
  return {calls, 0}
end

local limited = {}
local n_systems = tonumber(ARGV[5])
for i = 6, 5 + n_systems do limited[ARGV[i]] = true end

local counts, order = {}, {}
local function count(field)
  if counts[field] == nil then
    counts[field] = 0
    order[#order + 1] = field
  end
  counts[field] = counts[field] + 1
end

local pushes = {}
for k = 4, #KEYS do pushes[k] = {} end
for i = 6 + n_systems, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local values = pushes[k]
  values[#values + 1] = ARGV[i + 2]
  count("g")
  if limited[ARGV[i + 1]] then count("s:" .. ARGV[i + 1]) end
  count("t:" .. string.sub(KEYS[k], LOGS_PREFIX_LEN + 1))
end

for k = 4, #KEYS do
  local values = pushes[k]
  for i = 1, #values, CHUNK do
    call("LPUSH", KEYS[k], unpack(values, i, math.min(i + CHUNK - 1, #values)))
  end
  call("PEXPIRE", KEYS[k], ttl)
  call("ZADD", KEYS[3], now, string.sub(KEYS[k], LOGS_PREFIX_LEN + 1))
end
if call("PTTL", KEYS[3]) == -1 then call("PEXPIRE", KEYS[3], ttl + window) end

for _, field in ipairs(order) do call("HINCRBY", KEYS[2], field, counts[field]) end
if call("PTTL", KEYS[2]) == -1 then call("PEXPIRE", KEYS[2], 2 * window) end
call("HSET", KEYS[1], marker, 1)
if call("PTTL", KEYS[1]) == -1 then call("PEXPIRE", KEYS[1], 2 * window) end
return {calls, 1}
