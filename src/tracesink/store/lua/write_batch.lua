--[[ write_batch.lua: decide, store and expire one batch of log entries in one atomic step.

Mirrors tracesink.limits.decide (a sliding window over two fixed windows; an entry is admitted
only if the global, its system's and its trace's levels all have room, and only then are all of
them consumed) and MemoryStore's drop markers. The contract tests prove both agree.

KEYS[1]    tracesink:rl:{window}      HASH  counters of the current fixed window
KEYS[2]    tracesink:rl:{window - 1}  HASH  counters of the previous window (only read)
KEYS[3]    tracesink:traces           ZSET  trace_id -> last admission time (ms)
KEYS[4..]  logs:{trace_id}            LIST  one key per distinct trace in the batch, newest first

ARGV[1] now_ms      ARGV[2] elapsed_ms (now_ms % window_ms)   ARGV[3] window_ms
ARGV[4] ttl_ms      ARGV[5] global_limit                      ARGV[6] trace_limit
ARGV[7] n, the number of systems that have a limit; ARGV[8 .. 7 + 2n]: system, limit pairs
ARGV[8 + 2n] the batch id: recorded as field b:{id} of the current window's hash when the batch
admits anything, so that a replay of the same batch from the spool (replay_batch.lua) is skipped
then three values per entry, in arrival order: the KEYS index of its trace's list, its system,
its payload (stored verbatim)

Returns {calls, then five integers per entry: code, remaining global, remaining system,
remaining trace, retry_after_ms}. calls counts this script's redis.call()s, because a hosted
Redis bills each of them. code: 0 admitted, 1/2/3 refused by the global/system/trace level (the
first full one, in that order); remaining system is -1 when the system has no limit.
]]

-- unpack() is bounded by Lua's C stack (8000 values): longer argument lists go in chunks.
local CHUNK = 4000
local LEVEL_NAMES = {"global", "system", "trace"}
local LOGS_PREFIX_LEN = string.len("logs:")

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local function call_chunked(command, key, args)
  local out = {}
  for i = 1, #args, CHUNK do
    local reply = call(command, key, unpack(args, i, math.min(i + CHUNK - 1, #args)))
    if type(reply) == "table" then
      for _, value in ipairs(reply) do out[#out + 1] = value end
    end
  end
  return out
end

-- Lua numbers are doubles: a / b rounds, but floor(a / b) is still exact floor division for
-- |a| < 2^53, which every value here stays below (limits.py makes the same promise).
local function idiv(a, b)
  return math.floor(a / b)
end

local function has_room(prev, curr, elapsed, window, limit)
  return prev * (window - elapsed) + (curr + 1) * window <= limit * window
end

local function remaining(prev, curr, elapsed, window, limit)
  return math.max(0, idiv(limit * window - prev * (window - elapsed) - curr * window, window))
end

local function retry_after(prev, curr, elapsed, window, limit)
  if curr + 1 <= limit then
    if prev == 0 then return 0 end
    return math.max(0, window - idiv((limit - curr - 1) * window, prev) - elapsed)
  end
  local needed = 0
  if curr > 0 then needed = window - idiv((limit - 1) * window, curr) end
  return (window - elapsed) + math.max(0, needed)
end

local now = tonumber(ARGV[1])
local elapsed = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local global_limit = tonumber(ARGV[5])
local trace_limit = tonumber(ARGV[6])
local system_limits = {}
local n_systems = tonumber(ARGV[7])
for i = 0, n_systems - 1 do
  system_limits[ARGV[8 + 2 * i]] = tonumber(ARGV[9 + 2 * i])
end
local batch_id = ARGV[8 + 2 * n_systems]
local FIRST_ENTRY_ARG = 9 + 2 * n_systems

-- The batch's counter fields, each once, named as Policy.levels names them.
local fields, wanted = {"g"}, {g = true}
local function want(field)
  if not wanted[field] then
    wanted[field] = true
    fields[#fields + 1] = field
  end
end
local trace_ids, trace_fields = {}, {}
for k = 4, #KEYS do
  trace_ids[k] = string.sub(KEYS[k], LOGS_PREFIX_LEN + 1)
  trace_fields[k] = "t:" .. trace_ids[k]
  want(trace_fields[k])
end
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  if system_limits[ARGV[i + 1]] then want("s:" .. ARGV[i + 1]) end
end

local function read_counters(key)
  local values = call_chunked("HMGET", key, fields)
  local counts = {}
  for i, field in ipairs(fields) do counts[field] = tonumber(values[i]) or 0 end
  -- Every admission counts "g", so a missing "g" means this window's hash does not exist yet.
  return counts, values[1] ~= false
end

local curr, curr_exists = read_counters(KEYS[1])
local prev = read_counters(KEYS[2])
local changed = {}

local function levels_of(system, k)
  local levels = {{1, "g", global_limit}}
  if system_limits[system] then levels[2] = {2, "s:" .. system, system_limits[system]} end
  levels[#levels + 1] = {3, trace_fields[k], trace_limit}
  return levels
end

-- One entry's decision: code, {remaining per level}, retry_after_ms; admitted ones are counted.
local function decide(system, k)
  local levels = levels_of(system, k)
  local code, wait = 0, 0
  for _, level in ipairs(levels) do
    local field, limit = level[2], level[3]
    if not has_room(prev[field], curr[field], elapsed, window, limit) then
      if code == 0 then code = level[1] end
      wait = math.max(wait, retry_after(prev[field], curr[field], elapsed, window, limit))
    end
  end
  if code == 0 then
    for _, level in ipairs(levels) do
      curr[level[2]] = curr[level[2]] + 1
      changed[level[2]] = true
    end
  end
  local left = {-1, -1, -1}
  for _, level in ipairs(levels) do
    left[level[1]] = remaining(prev[level[2]], curr[level[2]], elapsed, window, level[3])
  end
  return code, left, wait
end

-- Drop markers. A marker is a table until it is written; its JSON is built by hand so that its
-- bytes (key order included, which cjson.encode does not keep) equal what MemoryStore writes.
-- %.0f rather than %d: it prints any integral double exactly, whatever the host's C long is.
local function new_marker(level)
  local by = {global = 0, system = 0, trace = 0}
  by[level] = 1
  return {count = 1, by = by, first = now, last = now}
end

local function encode_marker(m)
  return string.format(
    '{"kind":"dropped","count":%.0f,"by":{"global":%.0f,"system":%.0f,"trace":%.0f},'
    .. '"first":%.0f,"last":%.0f}',
    m.count, m.by.global, m.by.system, m.by.trace, m.first, m.last)
end

-- The newest stored item of a list, as a marker table when it is one, else false.
local function head_marker(key)
  local item = call("LINDEX", key, 0)
  -- Most heads are entries without a "kind" key: no need to decode those.
  if not item or not string.find(item, '"kind"', 1, true) then return false end
  local ok, decoded = pcall(cjson.decode, item)
  if not ok or type(decoded) ~= "table" or decoded.kind ~= "dropped" then return false end
  local by = type(decoded.by) == "table" and decoded.by or {}
  return {
    count = tonumber(decoded.count) or 0,
    by = {global = tonumber(by.global) or 0, system = tonumber(by.system) or 0,
          trace = tonumber(by.trace) or 0},
    first = tonumber(decoded.first) or now,
    last = tonumber(decoded.last) or now,
  }
end

-- Per trace: the new items, oldest first (payload strings and marker tables), and the stored
-- head marker that refusals extend in place (looked up only when a trace's first event in this
-- batch is a refusal, since only then is the stored head the newest item).
local new_items, heads = {}, {}
for k = 4, #KEYS do new_items[k] = {} end

local function record_drop(k, level)
  local items = new_items[k]
  local newest = items[#items]
  if newest == nil then
    if heads[k] == nil then heads[k] = head_marker(KEYS[k]) end
    newest = heads[k]
  end
  if type(newest) == "table" then
    newest.count = newest.count + 1
    newest.by[level] = newest.by[level] + 1
    newest.last = now
  else
    items[#items + 1] = new_marker(level)
  end
end

local reply = {0}
local admitted = {}
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local code, left, wait = decide(ARGV[i + 1], k)
  if code == 0 then
    local items = new_items[k]
    items[#items + 1] = ARGV[i + 2]
    admitted[k] = true
  else
    record_drop(k, LEVEL_NAMES[code])
  end
  for _, value in ipairs({code, left[1], left[2], left[3], wait}) do reply[#reply + 1] = value end
end

if next(admitted) then
  local counters = {}
  for _, field in ipairs(fields) do
    if changed[field] then
      counters[#counters + 1] = field
      counters[#counters + 1] = curr[field]
    end
  end
  counters[#counters + 1] = "b:" .. batch_id
  counters[#counters + 1] = 1
  call_chunked("HSET", KEYS[1], counters)
  local members = {}
  for k = 4, #KEYS do
    if admitted[k] then
      members[#members + 1] = now
      members[#members + 1] = trace_ids[k]
    end
  end
  -- Housekeeping that needs doing once per window, done when the window's hash is created.
  if not curr_exists then
    call("PEXPIRE", KEYS[1], 2 * window)
    call("ZREMRANGEBYSCORE", KEYS[3], "-inf", now - ttl)
  end
  call_chunked("ZADD", KEYS[3], members)
  if not curr_exists then call("PEXPIRE", KEYS[3], ttl + window) end
end

for k = 4, #KEYS do
  -- LSET before LPUSH: index 0 is still the old head.
  if heads[k] then call("LSET", KEYS[k], 0, encode_marker(heads[k])) end
  local values = {}
  for i, item in ipairs(new_items[k]) do
    values[i] = type(item) == "table" and encode_marker(item) or item
  end
  -- Oldest first in one LPUSH leaves the newest at the head.
  if #values > 0 then call_chunked("LPUSH", KEYS[k], values) end
  call("PEXPIRE", KEYS[k], ttl)
end

reply[1] = calls
return reply
