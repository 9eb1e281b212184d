--[[ cluster_decide.lua: the limit decision of one batch on a Redis Cluster, in one atomic step.

On a Cluster one script may only touch keys of one slot: the counters (tag {tracesink}) and the
trace lists (tag: each trace id) are on different shards. So a batch is decided here, on the
counters' slot, and each trace's list is written after by cluster_append.lua on its own slot
(store/cluster.py). The decision is write_batch.lua's (the same sliding window over two fixed
windows, the same levels, the same day count; the contract tests run on both), without the lists:
an entry admitted here has spent its quota whether or not its append then succeeds. A failed
append therefore wastes quota but never over-admits; the caller spools the batch and the replay
(cluster_replay.lua, then cluster_append.lua) stores exactly the entries admitted here, once.

Keys as store/keys.py builds them (braces literal: all three share the tag {tracesink}):
KEYS[1]  <prefix>rl:{tracesink}:<window>      HASH    counters of the current fixed window
KEYS[2]  <prefix>rl:{tracesink}:<window - 1>  HASH    the previous window's
KEYS[3]  <prefix>day:{tracesink}:<day>        STRING  the day's count carried over a quiet window

ARGV[1] now_ms   ARGV[2] elapsed_ms   ARGV[3] window_ms   ARGV[4] ttl_ms
ARGV[5] global_limit   ARGV[6] trace_limit   ARGV[7] the UTC day to count commands in, or -1
ARGV[8] commands the caller spent since its last counted call
ARGV[9] n, the systems that have a limit; ARGV[10 .. 9 + 2n]: system, limit pairs
ARGV[10 + 2n] the batch id   ARGV[11 + 2n] t, the number of distinct traces; then t trace ids
then three values per entry, in arrival order: the index (from 1) of its trace id, its system,
its id

Records, when anything is admitted, in the current window's hash: the counters, l:<trace_id>
(the recent-traces index) for each admitted trace, c:<day>, and b:<batch id> = the ids of the
entries refused, space-separated (usually none: ""): a replay of the batch stores the others.

Returns {calls, the day's count after this call (-1 when not counted), f, then f triples
(field, count in this window after the batch, count in the previous window), then five integers
per entry: code, remaining global, remaining system, remaining trace, retry_after_ms}, as
write_batch.lua's reply without unmarked and written (the appends report those).
]]

local CHUNK = 4000  -- unpack() is bounded by Lua's C stack

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
    else
      out = reply
    end
  end
  return out
end

-- As write_batch.lua (and tracesink.limits): exact for |values| < 2^53.
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
local day = tonumber(ARGV[7])
local uncounted = tonumber(ARGV[8])
local n_systems = tonumber(ARGV[9])
local system_limits = {}
for i = 0, n_systems - 1 do
  system_limits[ARGV[10 + 2 * i]] = tonumber(ARGV[11 + 2 * i])
end
local batch_id = ARGV[10 + 2 * n_systems]
local n_traces = tonumber(ARGV[11 + 2 * n_systems])
local FIRST_TRACE_ARG = 12 + 2 * n_systems
local FIRST_ENTRY_ARG = FIRST_TRACE_ARG + n_traces

local trace_ids = {}
for t = 1, n_traces do trace_ids[t] = ARGV[FIRST_TRACE_ARG + t - 1] end

local fields, wanted = {}, {}
local function want(field)
  if not wanted[field] then
    wanted[field] = true
    fields[#fields + 1] = field
  end
end
want("g")
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  want("t:" .. trace_ids[tonumber(ARGV[i])])
  if system_limits[ARGV[i + 1]] then want("s:" .. ARGV[i + 1]) end
end

-- One HMGET: each field's count in this window and the copy of the previous window's count;
-- the previous hash only for fields this window has not written yet (see write_batch.lua).
local curr, prev, copy = {}, {}, {}
local day_count, day_carried = nil, nil
local asked, n = {}, #fields
for i, field in ipairs(fields) do
  asked[i] = field
  asked[n + i] = "p" .. field
end
local day_field = "c:" .. day
if day >= 0 then asked[#asked + 1] = day_field end
local values = call_chunked("HMGET", KEYS[1], asked)
local curr_exists = values[1] ~= false
local missing = {}
for i, field in ipairs(fields) do
  curr[field] = tonumber(values[i]) or 0
  if values[n + i] then
    prev[field] = tonumber(values[n + i])
  else
    missing[#missing + 1] = field
    copy[field] = true
  end
end
if day >= 0 then day_count = tonumber(values[#asked]) end
if day_count == nil and day >= 0 then missing[#missing + 1] = day_field end
if #missing > 0 then
  local old = call_chunked("HMGET", KEYS[2], missing)
  for i, field in ipairs(missing) do prev[field] = tonumber(old[i]) or 0 end
  if day_count == nil and day >= 0 then
    day_count = tonumber(old[#missing])
    prev[day_field] = nil
    if day_count == nil then day_count = tonumber(call("GET", KEYS[3])) or 0 end
    day_carried = day_count
  end
end

local changed = {}
local function decide(system, trace_field)
  local levels = {{1, "g", global_limit}}
  if system_limits[system] then levels[2] = {2, "s:" .. system, system_limits[system]} end
  levels[#levels + 1] = {3, trace_field, trace_limit}
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

local decisions, refused, admitted, any = {}, {}, {}, false
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local t = tonumber(ARGV[i])
  local code, left, wait = decide(ARGV[i + 1], "t:" .. trace_ids[t])
  if code == 0 then
    admitted[t], any = true, true
  else
    refused[#refused + 1] = ARGV[i + 2]
  end
  for _, value in ipairs({code, left[1], left[2], left[3], wait}) do
    decisions[#decisions + 1] = value
  end
end

if any then
  local counters = {}
  for _, field in ipairs(fields) do
    if changed[field] then
      counters[#counters + 1] = field
      counters[#counters + 1] = curr[field]
      if copy[field] then
        counters[#counters + 1] = "p" .. field
        counters[#counters + 1] = prev[field]
      end
    end
  end
  for t = 1, n_traces do
    if admitted[t] then
      counters[#counters + 1] = "l:" .. trace_ids[t]
      counters[#counters + 1] = now
    end
  end
  counters[#counters + 1] = "b:" .. batch_id
  counters[#counters + 1] = table.concat(refused, " ")
  if day_carried ~= nil then
    call("SET", KEYS[3], day_carried, "PX", 86400000 - now % 86400000 + window)
  end
  if day_count ~= nil then
    local still = 2  -- the HSET and the EVALSHA; the PEXPIRE when this HSET creates the hash
    if not curr_exists then still = 3 end
    day_count = day_count + uncounted + calls + still
    counters[#counters + 1] = "c:" .. day
    counters[#counters + 1] = day_count
  end
  call_chunked("HSET", KEYS[1], counters)
  if not curr_exists then call("PEXPIRE", KEYS[1], window + math.max(window, ttl)) end
else
  day_count = nil
end

local reply = {0, day_count or -1, #fields}
for _, field in ipairs(fields) do
  reply[#reply + 1] = field
  reply[#reply + 1] = curr[field]
  reply[#reply + 1] = prev[field]
end
for _, value in ipairs(decisions) do reply[#reply + 1] = value end
reply[1] = calls
return reply
