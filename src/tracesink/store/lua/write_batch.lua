--[[ write_batch.lua: decide, store and expire one batch of log entries in one atomic step.

Mirrors tracesink.limits.decide (a sliding window over two fixed windows; an entry is admitted
only if the global, its system's and its trace's levels all have room, and only then are all of
them consumed) and MemoryStore's drop markers. The contract tests prove both agree. Self-contained:
any client (tracesink's Python stores, the edge Worker) may call it with the KEYS/ARGV below.
Key layout and what each command buys: docs/keys.md. Needs Redis >= 7.0 (PEXPIRE ... GT).

Keys as store/keys.py builds them (braces literal: the variable part is the hash tag):
KEYS[1]    <prefix>rl:{tracesink}:<window>      HASH  counters of the current fixed window
KEYS[2]    <prefix>rl:{tracesink}:<window - 1>  HASH  the previous window's (read only for fields
                                                      the current hash has no copy of yet)
KEYS[3]    <prefix>day:{tracesink}:<day>        STRING  the day's shared command count carried
                                                      over a window without writes (budget only)
KEYS[4..]  <prefix>logs:{<trace_id>}            LIST  one key per distinct trace: the batch's
                                                      traces and those of the drop runs, newest first

ARGV[1] now_ms      ARGV[2] elapsed_ms (now_ms % window_ms)   ARGV[3] window_ms
ARGV[4] ttl_ms      ARGV[5] slack_ms (a list lives ttl_ms to ttl_ms + slack_ms after its last write)
ARGV[6] global_limit   ARGV[7] trace_limit   ARGV[8] what a list key holds before its trace id
  (<prefix>logs:{): the trace id is the rest of the key but its closing brace
ARGV[9] the UTC day (now_ms // 86400000) whose commands to count in field c:{day} (the shared
  daily budget), or -1 for none   ARGV[10] commands the caller spent since its last counted call
ARGV[11] max_items: the most items a list keeps (TRACESINK_MAX_TRACE_ENTRIES, at least 2);
  beyond, the oldest go, and a trimmed marker at the tail counts them
ARGV[12] n, the number of systems that have a limit; ARGV[13 .. 12 + 2n]: system, limit pairs
ARGV[13 + 2n] the batch id: recorded as field b:{id} of the current window's hash when the batch
  admits anything, so that a replay of the same batch from the spool (replay_batch.lua) is skipped
ARGV[14 + 2n] r, the number of drop runs: refusals decided by the caller (without this script,
  from counts it knew to be spent) and not yet written; then six values per run, oldest first:
  the KEYS index of its trace's list, refused by global, by system, by trace, first_ms, last_ms
then three values per entry, in arrival order: the KEYS index of its trace's list, its system,
its payload (stored verbatim)

A run is written before the batch's entries, where it happened: it extends the list's newest
item when that is a marker, else it is pushed as a new one. A run or refusal for a trace whose
list does not exist writes nothing (no key is created for a refusal) and is counted as unmarked.

The day's count is added to in the batch's HSET, so only by a batch that admits something: then
c:{day} grows by this call's commands (EVALSHA included) and ARGV[10]; a new window's hash takes
the count over from the previous one, or from KEYS[3], which each new window's first write sets.

Returns {calls, unmarked, the day's count after this call (-1 when not counted), f, then f triples (field, count in this window after the batch, count
in the previous window), w, then the w KEYS indexes of the lists written (each exists now, until
at least ttl_ms after its newest event), then five integers per entry: code, remaining global,
remaining system, remaining trace, retry_after_ms}. calls counts this script's redis.call()s, because a hosted Redis
bills each of them. code: 0 admitted, 1/2/3 refused by the global/system/trace level (the first
full one, in that order); remaining system is -1 when the system has no limit.
]]

-- unpack() is bounded by Lua's C stack (8000 values): longer argument lists go in chunks.
local CHUNK = 4000
local LEVEL_NAMES = {"global", "system", "trace"}

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
local slack = tonumber(ARGV[5])
local global_limit = tonumber(ARGV[6])
local trace_limit = tonumber(ARGV[7])
local logs_prefix_len = string.len(ARGV[8])
local day = tonumber(ARGV[9])
local uncounted = tonumber(ARGV[10])
local system_limits = {}
local max_items = tonumber(ARGV[11])
local n_systems = tonumber(ARGV[12])
for i = 0, n_systems - 1 do
  system_limits[ARGV[13 + 2 * i]] = tonumber(ARGV[14 + 2 * i])
end
local batch_id = ARGV[13 + 2 * n_systems]
local n_runs = tonumber(ARGV[14 + 2 * n_systems])
local FIRST_RUN_ARG = 15 + 2 * n_systems
local FIRST_ENTRY_ARG = FIRST_RUN_ARG + 6 * n_runs

local trace_fields, expiry_fields = {}, {}
for k = 4, #KEYS do
  local trace_id = string.sub(KEYS[k], logs_prefix_len + 1, -2)
  trace_fields[k] = "t:" .. trace_id
  expiry_fields[k] = "x:" .. trace_id
end

-- The counter fields the entries need, each once, named as Policy.levels names them.
local fields, wanted, entry_traces = {}, {}, {}
local function want(field)
  if not wanted[field] then
    wanted[field] = true
    fields[#fields + 1] = field
  end
end
local has_entries = #ARGV >= FIRST_ENTRY_ARG
if has_entries then want("g") end
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  entry_traces[k] = true
  want(trace_fields[k])
  if system_limits[ARGV[i + 1]] then want("s:" .. ARGV[i + 1]) end
end

-- One HMGET reads, for each field, this window's count and the copy of the previous window's
-- count ("p" .. field) that the first write of the field in this window stored beside it, plus
-- each trace's x: (until when its list's expiry was last set). Only fields this window has not
-- written yet need the previous hash: once per field per window.
local curr, prev, copy, expires = {}, {}, {}, {}
local curr_exists = false
local day_count, day_carried = nil, nil  -- the day's shared count; the value taken over
if has_entries then
  local asked, n = {}, #fields
  for i, field in ipairs(fields) do
    asked[i] = field
    asked[n + i] = "p" .. field
  end
  local traces = {}
  for k = 4, #KEYS do
    if entry_traces[k] then
      traces[#traces + 1] = k
      asked[#asked + 1] = expiry_fields[k]
    end
  end
  local day_field = "c:" .. day
  if day >= 0 then asked[#asked + 1] = day_field end
  local values = call_chunked("HMGET", KEYS[1], asked)
  -- Every admission counts "g", so a missing "g" means this window's hash does not exist yet.
  curr_exists = values[1] ~= false
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
  for j, k in ipairs(traces) do expires[k] = tonumber(values[2 * n + j]) or 0 end
  if day >= 0 then day_count = tonumber(values[#asked]) end
  if day_count == nil and day >= 0 then missing[#missing + 1] = day_field end
  if #missing > 0 then
    local old = call_chunked("HMGET", KEYS[2], missing)
    for i, field in ipairs(missing) do prev[field] = tonumber(old[i]) or 0 end
    if day_count == nil and day >= 0 then
      day_count = tonumber(old[#missing])
      prev[day_field] = nil
      -- Not in the previous window's hash (no write there, or a new day): the day key has it.
      if day_count == nil then day_count = tonumber(call("GET", KEYS[3])) or 0 end
      day_carried = day_count
    end
  end
end

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
local function encode_marker(m)
  return string.format(
    '{"kind":"dropped","count":%.0f,"by":{"global":%.0f,"system":%.0f,"trace":%.0f},'
    .. '"first":%.0f,"last":%.0f}',
    m.count, m.by.global, m.by.system, m.by.trace, m.first, m.last)
end

-- The newest stored item of a list: a marker table when it is one, false for an entry,
-- "none" when the list does not exist.
local function head_of(key)
  local item = call("LINDEX", key, 0)
  if not item then return "none" end
  -- Most heads are entries without a "kind" key: no need to decode those.
  if not string.find(item, '"kind"', 1, true) then return false end
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

-- A list is kept within max_items: when a push makes it longer, its oldest items go, down to the
-- newest max_items - 1 and a trimmed marker at the tail that counts every item removed so far:
-- {"kind":"trimmed","count":N}. Two commands (RPOP of the excess with the old marker, RPUSH of
-- the new one), only for a push past the cap. Whenever the trims happen, the list is the same
-- (the newest items and the count of the rest; no time in the marker, since a held drop run is
-- written later than MemoryStore writes it), so it is exactly MemoryStore's, byte for byte.
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

-- Which of the lists KEYS[ks[1..]] exist: their stored heads where they do, "none" where not.
-- One LINDEX per list that exists (its marker is written, so it is paid for by that write); the
-- rest is found by EXISTS over groups: one for all of them, then halving only the groups that
-- hold both kinds. So refusals of many traces that have no list (new trace ids) cost one
-- command in all, and at most 1 + min(existing, missing) x ceil(log2 #ks) EXISTS in any case.
local function heads_of(ks)
  local heads = {}
  local function exists(lo, hi)
    local n = 0
    for i = lo, hi, CHUNK do
      local names = {}
      for j = i, math.min(i + CHUNK - 1, hi) do names[#names + 1] = KEYS[ks[j]] end
      n = n + call("EXISTS", unpack(names))
    end
    return n
  end
  local function split(lo, hi, n)
    if n == 0 then
      for i = lo, hi do heads[ks[i]] = "none" end
    elseif n == hi - lo + 1 then
      for i = lo, hi do heads[ks[i]] = head_of(KEYS[ks[i]]) end
    else
      local mid = math.floor((lo + hi) / 2)
      local left = exists(lo, mid)
      split(lo, mid, left)
      split(mid + 1, hi, n - left)
    end
  end
  if #ks == 1 then
    heads[ks[1]] = head_of(KEYS[ks[1]])  -- LINDEX answers both questions at once
  elseif #ks > 1 then
    split(1, #ks, exists(1, #ks))
  end
  return heads
end

-- The decisions first: they do not depend on the lists. Then each trace's events in order:
-- drop runs (from the caller), then the entries, admitted or refused.
local decisions, events = {}, {}
for i = FIRST_RUN_ARG, FIRST_ENTRY_ARG - 1, 6 do
  local g, s, t = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  events[#events + 1] = {k = tonumber(ARGV[i]), from_caller = true, run = {
    count = g + s + t, by = {global = g, system = s, trace = t},
    first = tonumber(ARGV[i + 4]), last = tonumber(ARGV[i + 5]),
  }}
end
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local code, left, wait = decide(ARGV[i + 1], k)
  if code == 0 then
    events[#events + 1] = {k = k, payload = ARGV[i + 2]}
  else
    local by = {global = 0, system = 0, trace = 0}
    by[LEVEL_NAMES[code]] = 1
    events[#events + 1] = {k = k, run = {count = 1, by = by, first = now, last = now}}
  end
  for _, value in ipairs({code, left[1], left[2], left[3], wait}) do
    decisions[#decisions + 1] = value
  end
end

-- The stored head matters only to a trace whose first event here is a drop (it extends the
-- head's marker, or goes nowhere when there is no list: a refusal never creates a key). A drop
-- run's trace almost surely has a list (the caller holds runs only for traces it has written
-- within the TTL): its LINDEX is the lookup. Refusals decided here may be of any trace id at
-- all: those are searched for.
local first_seen, refused_first, heads = {}, {}, {}
for _, event in ipairs(events) do
  if not first_seen[event.k] then
    first_seen[event.k] = true
    if event.run and event.from_caller then
      heads[event.k] = head_of(KEYS[event.k])
    elseif event.run then
      refused_first[#refused_first + 1] = event.k
    end
  end
end
for k, head in pairs(heads_of(refused_first)) do heads[k] = head end

-- Per trace: the new items, oldest first (payload strings and marker tables), and the time of
-- its newest event written.
local new_items, latest = {}, {}
for k = 4, #KEYS do new_items[k] = {} end
local unmarked = 0
local admitted = {}

local function record_run(k, run)
  local items = new_items[k]
  local newest = items[#items]
  if newest == nil then newest = heads[k] end
  if newest == "none" then
    unmarked = unmarked + run.count
    return
  end
  if type(newest) == "table" then
    newest.count = newest.count + run.count
    for _, level in ipairs(LEVEL_NAMES) do newest.by[level] = newest.by[level] + run.by[level] end
    newest.last = run.last
  else
    items[#items + 1] = run
  end
  latest[k] = math.max(latest[k] or 0, run.last)
end

for _, event in ipairs(events) do
  if event.run then
    record_run(event.k, event.run)
  else
    local items = new_items[event.k]
    items[#items + 1] = event.payload
    admitted[event.k] = true
    latest[event.k] = now
  end
end

-- The lists. A list's expiry is set only when it would otherwise come less than ttl after this
-- write: then to ttl + slack after it, and x:{trace_id} remembers until when, so the next writes
-- within slack_ms skip the PEXPIRE.
local counters = {}
for k = 4, #KEYS do
  local head = heads[k]
  -- LSET before LPUSH: index 0 is still the old head.
  if type(head) == "table" then call("LSET", KEYS[k], 0, encode_marker(head)) end
  local values = {}
  for i, item in ipairs(new_items[k]) do
    values[i] = type(item) == "table" and encode_marker(item) or item
  end
  local created = false
  -- Oldest first in one LPUSH leaves the newest at the head.
  if #values > 0 then
    local length = call_chunked("LPUSH", KEYS[k], values)
    created = length == #values
    trim(KEYS[k], length)
  end
  if latest[k] and (created or (expires[k] or 0) < latest[k] + ttl) then
    local until_ms = latest[k] + ttl + slack
    if latest[k] < now then
      -- Only drop runs from earlier: never shorten what a later write has set.
      call("PEXPIRE", KEYS[k], until_ms - now, "GT")
    else
      -- GT on a list that was there: a pinned list (pin.lua) keeps its longer expiry. Only a
      -- list this call created has no expiry yet, which GT would never set.
      if created then
        call("PEXPIRE", KEYS[k], until_ms - now)
      else
        call("PEXPIRE", KEYS[k], until_ms - now, "GT")
      end
      if entry_traces[k] then
        counters[#counters + 1] = expiry_fields[k]
        counters[#counters + 1] = until_ms
      end
    end
  end
end

-- The counters, the recent-traces index (l:{trace_id}: last admission) and the batch id, in one
-- HSET; the hash's expiry once per window, when this HSET creates it.
if next(admitted) then
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
  for k = 4, #KEYS do
    if admitted[k] then
      counters[#counters + 1] = "l:" .. string.sub(trace_fields[k], 3)
      counters[#counters + 1] = now
    end
  end
  counters[#counters + 1] = "b:" .. batch_id
  counters[#counters + 1] = 1
  if day_carried ~= nil then
    -- Kept where a window without writes cannot lose it, until the day is over.
    call("SET", KEYS[3], day_carried, "PX", 86400000 - now % 86400000 + window)
  end
  if day_count ~= nil then
    -- Every command of this call: those so far, the HSET and PEXPIRE to come, the EVALSHA.
    local still = 2
    if not curr_exists then still = 3 end
    day_count = day_count + uncounted + calls + still
    counters[#counters + 1] = "c:" .. day
    counters[#counters + 1] = day_count
  end
  call_chunked("HSET", KEYS[1], counters)
  -- Kept for the window after (as the previous one) and as long as a trace may be listed.
  if not curr_exists then call("PEXPIRE", KEYS[1], window + math.max(window, ttl)) end
else
  day_count = nil
end

local reply = {0, unmarked, day_count or -1, #fields}
for _, field in ipairs(fields) do
  reply[#reply + 1] = field
  reply[#reply + 1] = curr[field]
  reply[#reply + 1] = prev[field]
end
local written = {}
for k = 4, #KEYS do
  if latest[k] then written[#written + 1] = k end
end
reply[#reply + 1] = #written
for _, k in ipairs(written) do reply[#reply + 1] = k end
for _, value in ipairs(decisions) do reply[#reply + 1] = value end
reply[1] = calls
return reply
