--[[ lib/counters.lua: a batch's limit decision over the fixed-window counter hashes. The one
source of it for write_batch.lua (a single primary) and cluster_decide.lua (a cluster's counters'
slot), so that both admit exactly alike. Needs lib/calls.lua and lib/window.lua before it.

The state of one batch's decision is a table, `c`:
  new_counters(keys, limits)  keys: [1] this window's hash, [2] the previous window's hash,
                              [3] the day key (both scripts pass KEYS); limits: now, elapsed,
                              window, ttl, global_limit, trace_limit, system_limits (system -> limit,
                              read from ARGV by system_limits_at(first, n)),
                              day (-1: no shared daily count), uncounted
  want(c, field), want_entry(c, system, trace_field)   the counter fields to read, each once
  read_counts(c, extra)       their counts (and `extra` fields of this window's hash, returned)
  decide(c, system, trace_field)   one entry's decision; an admitted entry is counted
  counter_pairs(c, out)       the changed counters as HSET pairs
  store_counters(c, pairs)    one HSET of them (and the caller's) with the day's count
  reply_counts(c, reply)      the reply's day count and counts
]]

-- The systems that have a limit (system -> limit): n pairs from ARGV[first].
local function system_limits_at(first, n)
  local limits = {}
  for i = 0, n - 1 do limits[ARGV[first + 2 * i]] = tonumber(ARGV[first + 1 + 2 * i]) end
  return limits
end

local function new_counters(keys, limits)
  return {keys = keys, limits = limits, fields = {}, wanted = {}, curr = {}, prev = {},
          copy = {}, changed = {}, curr_exists = false, stored = false}
end

local function want(c, field)
  if not c.wanted[field] then
    c.wanted[field] = true
    c.fields[#c.fields + 1] = field
  end
end

-- The fields an entry is decided on, named as Policy.levels names them: "g", its trace's, and
-- its system's when that has a limit; the reply lists them in this order of first need.
local function want_entry(c, system, trace_field)
  if not c.wanted.g then want(c, "g") end
  if not c.wanted[trace_field] then want(c, trace_field) end
  if c.limits.system_limits[system] then want(c, "s:" .. system) end
end

-- One HMGET reads, for each field, this window's count and the copy of the previous window's
-- count ("p" .. field) that the first write of the field in this window stored beside it, the
-- caller's `extra` fields, and the day's count. Only fields this window has not written yet need
-- the previous hash: once per field per window. Returns the values of `extra` (false: absent).
local function read_counts(c, extra)
  local fields, curr, prev, copy = c.fields, c.curr, c.prev, c.copy
  local day = c.limits.day
  local asked, n = {}, #fields
  for i, field in ipairs(fields) do
    asked[i] = field
    asked[n + i] = "p" .. field
  end
  for _, field in ipairs(extra) do asked[#asked + 1] = field end
  local day_field = "c:" .. day
  if day >= 0 then asked[#asked + 1] = day_field end
  local values = call_chunked("HMGET", c.keys[1], asked)
  -- Every admission counts "g", so a missing "g" means this window's hash does not exist yet.
  c.curr_exists = values[1] ~= false
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
  local got = {}
  for j = 1, #extra do got[j] = values[2 * n + j] end
  if day >= 0 then c.day_count = tonumber(values[#asked]) end
  if c.day_count == nil and day >= 0 then missing[#missing + 1] = day_field end
  if #missing > 0 then
    local old = call_chunked("HMGET", c.keys[2], missing)
    for i, field in ipairs(missing) do prev[field] = tonumber(old[i]) or 0 end
    if c.day_count == nil and day >= 0 then
      c.day_count = tonumber(old[#missing])
      prev[day_field] = nil
      -- Not in the previous window's hash (no write there, or a new day): the day key has it.
      if c.day_count == nil then c.day_count = tonumber(call("GET", c.keys[3])) or 0 end
      c.day_carried = c.day_count
    end
  end
  return got
end

-- One entry's decision: code (0 admitted; else the first full level, in this order: 1 global,
-- 2 system, 3 trace), the remaining at each level (-1 for a level the entry does not have:
-- global, system, trace), retry_after_ms. An admitted entry is counted at all its levels at
-- once. Its levels are one flat list of (code, field, limit) triples, and the results plain
-- values: a table per level and per result cost more than the decision itself in a long batch.
local function decide(c, system, trace_field)
  local limits, curr, prev, changed = c.limits, c.curr, c.prev, c.changed
  local elapsed, window = limits.elapsed, limits.window
  local levels
  local system_limit = limits.system_limits[system]
  if system_limit then
    levels = {1, "g", limits.global_limit, 2, "s:" .. system, system_limit,
              3, trace_field, limits.trace_limit}
  else
    levels = {1, "g", limits.global_limit, 3, trace_field, limits.trace_limit}
  end
  local code, wait = 0, 0
  for j = 1, #levels, 3 do
    local field, limit = levels[j + 1], levels[j + 2]
    if not has_room(prev[field], curr[field], elapsed, window, limit) then
      if code == 0 then code = levels[j] end
      wait = math.max(wait, retry_after(prev[field], curr[field], elapsed, window, limit))
    end
  end
  if code == 0 then
    for j = 2, #levels, 3 do
      curr[levels[j]] = curr[levels[j]] + 1
      changed[levels[j]] = true
    end
  end
  local left_global, left_system = remaining(prev.g, curr.g, elapsed, window, levels[3]), -1
  if system_limit then
    left_system = remaining(prev[levels[5]], curr[levels[5]], elapsed, window, system_limit)
  end
  local left_trace = remaining(prev[trace_field], curr[trace_field], elapsed, window,
                               levels[#levels])
  return code, left_global, left_system, left_trace, wait
end

-- The counters the batch changed, as HSET field/value pairs appended to `out`; the first write
-- of a field in this window stores the previous window's count beside it ("p" .. field).
local function counter_pairs(c, out)
  for _, field in ipairs(c.fields) do
    if c.changed[field] then
      out[#out + 1] = field
      out[#out + 1] = c.curr[field]
      if c.copy[field] then
        out[#out + 1] = "p" .. field
        out[#out + 1] = c.prev[field]
      end
    end
  end
end

-- For a batch that admitted something: `pairs` (counter_pairs' and the caller's) and the day's
-- count in one HSET of this window's hash, and the hash's expiry once per window, when this HSET
-- creates it. The day's count grows by this call's commands (EVALSHA included) and the caller's
-- uncounted ones; a new window's hash takes it over from the previous one, or from the day key.
local function store_counters(c, pairs)
  local limits = c.limits
  if c.day_carried ~= nil then
    -- Kept where a window without writes cannot lose it, until the day is over.
    call("SET", c.keys[3], c.day_carried, "PX", 86400000 - limits.now % 86400000 + limits.window)
  end
  if c.day_count ~= nil then
    -- Every command of this call: those so far, the HSET and PEXPIRE to come, the EVALSHA.
    local still = 2
    if not c.curr_exists then still = 3 end
    c.day_count = c.day_count + limits.uncounted + calls + still
    pairs[#pairs + 1] = "c:" .. limits.day
    pairs[#pairs + 1] = c.day_count
  end
  call_chunked("HSET", c.keys[1], pairs)
  -- Kept for the window after (as the previous one) and as long as a trace may be listed.
  if not c.curr_exists then
    call("PEXPIRE", c.keys[1], limits.window + math.max(limits.window, limits.ttl))
  end
  c.stored = true
end

-- Appends to the reply the day's count after this call (-1 when this call did not count:
-- nothing admitted, or no shared daily count), f, then f triples (field, count in this window
-- after the batch, count in the previous window).
local function reply_counts(c, reply)
  reply[#reply + 1] = c.stored and c.day_count or -1
  reply[#reply + 1] = #c.fields
  for _, field in ipairs(c.fields) do
    reply[#reply + 1] = field
    reply[#reply + 1] = c.curr[field]
    reply[#reply + 1] = c.prev[field]
  end
end
