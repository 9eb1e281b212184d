--[[ replay_batch.lua: store, exactly once, a batch admitted and spooled during a store outage.

The entries were already admitted (by this instance's local counters) and acknowledged with 202,
so they are not decided again: they are appended and counted into the current window, so that
the shared limits know about them from now on. The batch id makes a replay idempotent: the
original write_batch.lua records b:{id} in its window's hash when the batch admitted anything
(it may have run after all, its reply lost), and this script records it on success, so a crash
between "stored" and "removed from the spool" cannot store a batch twice.

Keys as store/keys.py builds them (braces literal: the variable part is the hash tag):
KEYS[1]    <prefix>rl:{tracesink}:<window of the original attempt>  HASH  holds b:<batch_id>
KEYS[2]    <prefix>rl:{tracesink}:<current window>                  HASH  counters the entries
                                                                    join, l:<trace_id> (the index)
KEYS[3..]  <prefix>logs:{<trace_id>}                                LIST  one per distinct trace

ARGV[1] now_ms   ARGV[2] window_ms   ARGV[3] ttl_ms   ARGV[4] slack_ms   ARGV[5] batch_id
ARGV[6] what a list key holds before its trace id (<prefix>logs:{), closed by a brace
ARGV[7] max_items: the most items a list keeps, trimmed as write_batch.lua trims
ARGV[8] n, the number of systems that have a limit; ARGV[9 .. 8 + n]: their names
then three values per entry, oldest first: the KEYS index of its trace's list, its system, its
payload

Returns {calls, stored}: calls counts this script's redis.call()s (a hosted Redis bills each);
stored is 1 when the batch was stored now, 0 when it had been stored before.
]]

local CHUNK = 4000  -- unpack() is bounded by Lua's C stack

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local marker = "b:" .. ARGV[5]
local logs_prefix_len = string.len(ARGV[6])
if call("HEXISTS", KEYS[1], marker) == 1 then
  return {calls, 0}
end

local max_items = tonumber(ARGV[7])
local limited = {}
local n_systems = tonumber(ARGV[8])
for i = 9, 8 + n_systems do limited[ARGV[i]] = true end

-- As write_batch.lua trims (see there): the newest max_items - 1 and a trimmed marker at the tail.
local function trim(key, length)
  if length <= max_items then return end
  -- The tail holds the oldest items, the trimmed marker last of all when there is one.
  local gone = call("RPOP", key, length - max_items + 1)
  local removed = #gone
  -- A marker starts so; an entry starts {"id": (its context may hold anything).
  if string.sub(gone[1], 1, 17) == '{"kind":"trimmed"' then
    local ok, decoded = pcall(cjson.decode, gone[1])
    removed = removed - 1 + (ok and type(decoded) == "table" and tonumber(decoded.count) or 0)
  end
  call("RPUSH", key, string.format('{"kind":"trimmed","count":%.0f}', removed))
end

local counts, order = {}, {}
local function count(field)
  if counts[field] == nil then
    counts[field] = 0
    order[#order + 1] = field
  end
  counts[field] = counts[field] + 1
end

local pushes = {}
for k = 3, #KEYS do pushes[k] = {} end
for i = 9 + n_systems, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local values = pushes[k]
  values[#values + 1] = ARGV[i + 2]
  count("g")
  if limited[ARGV[i + 1]] then count("s:" .. ARGV[i + 1]) end
  count("t:" .. string.sub(KEYS[k], logs_prefix_len + 1, -2))
end

-- As write_batch.lua keeps them: a hash lives one window more than its own, and as long as a
-- trace it lists may live; the l: fields are the recent-traces index.
local hash_ttl = window + math.max(window, ttl)
for k = 3, #KEYS do
  local values = pushes[k]
  local length = 0
  for i = 1, #values, CHUNK do
    length = call("LPUSH", KEYS[k], unpack(values, i, math.min(i + CHUNK - 1, #values)))
  end
  trim(KEYS[k], length)
  -- GT unless the push created the list: never shorten a pinned list's expiry (pin.lua).
  if length == #values then
    call("PEXPIRE", KEYS[k], ttl + slack)
  else
    call("PEXPIRE", KEYS[k], ttl + slack, "GT")
  end
  call("HSET", KEYS[2], "l:" .. string.sub(KEYS[k], logs_prefix_len + 1, -2), now)
end

for _, field in ipairs(order) do call("HINCRBY", KEYS[2], field, counts[field]) end
if call("PTTL", KEYS[2]) == -1 then call("PEXPIRE", KEYS[2], hash_ttl) end
call("HSET", KEYS[1], marker, 1)
if call("PTTL", KEYS[1]) == -1 then call("PEXPIRE", KEYS[1], hash_ttl) end
return {calls, 1}
