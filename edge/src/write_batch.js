// Generated from src/tracesink/store/lua/write_batch.lua and the lib/ fragments it includes, by
// `python -m tracesink.edge_script > edge/src/write_batch.js`; do not edit: change the Lua and
// regenerate (tests/unit/test_edge_script.py fails while this is stale).

export const WRITE_BATCH = `--[[ write_batch.lua: decide, store and expire one batch of log entries in one atomic step.

Mirrors tracesink.limits.decide (a sliding window over two fixed windows; an entry is admitted
only if the global, its system's and its trace's levels all have room, and only then are all of
them consumed) and MemoryStore's drop markers. The contract tests prove both agree. The decision
and the list writing are the fragments below, shared with the cluster's scripts; the text Redis
runs is this file with them written in (store/script_text.py), and any client (tracesink's
Python stores, the edge Worker's generated copy edge/src/write_batch.js) sends that text and
calls it with the KEYS/ARGV below.
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

-- lib/calls.lua: redis.call, counted (a hosted Redis bills each call a script makes, so every
-- script's reply starts with \`calls\`), and a command whose arguments may outgrow unpack(),
-- which is bounded by Lua's C stack (8000 values): longer argument lists go in chunks.
local CHUNK = 4000

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

-- One command per CHUNK arguments: a table reply is the chunks' replies joined, any other the
-- last chunk's (LPUSH: the list's length after the last push).
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
-- lib/window.lua: the sliding-window math of tracesink.limits (a window's count weighted by how
-- much of it the sliding window still covers, over two fixed windows), written once for every
-- script that decides. prev and curr are a level's counts in the previous and the current fixed
-- window, elapsed the ms since the current one began.

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
--[[ lib/counters.lua: a batch's limit decision over the fixed-window counter hashes. The one
source of it for write_batch.lua (a single primary) and cluster_decide.lua (a cluster's counters'
slot), so that both admit exactly alike. Needs lib/calls.lua and lib/window.lua before it.

The state of one batch's decision is a table, \`c\`:
  new_counters(keys, limits)  keys: [1] this window's hash, [2] the previous window's hash,
                              [3] the day key (both scripts pass KEYS); limits: now, elapsed,
                              window, ttl, global_limit, trace_limit, system_limits (system -> limit,
                              read from ARGV by system_limits_at(first, n)),
                              day (-1: no shared daily count), uncounted
  want(c, field), want_entry(c, system, trace_field)   the counter fields to read, each once
  read_counts(c, extra)       their counts (and \`extra\` fields of this window's hash, returned)
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
-- caller's \`extra\` fields, and the day's count. Only fields this window has not written yet need
-- the previous hash: once per field per window. Returns the values of \`extra\` (false: absent).
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

-- The counters the batch changed, as HSET field/value pairs appended to \`out\`; the first write
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

-- For a batch that admitted something: \`pairs\` (counter_pairs' and the caller's) and the day's
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
--[[ lib/lists.lua: a trace's list as write_batch.lua, cluster_append.lua and replay_batch.lua
write it (drop markers, the cap, the expiry), so that its bytes are the same whichever script
wrote it, and equal to MemoryStore's. Needs lib/calls.lua before it.
]]

local MARKER_LEVELS = {"global", "system", "trace"}  -- a marker's "by", indexed by refusal code

-- Drop markers. A marker is a table until it is written; its JSON is built by hand so that its
-- bytes (key order included, which cjson.encode does not keep) equal what MemoryStore writes.
-- %.0f rather than %d: it prints any integral double exactly, whatever the host's C long is.
local function encode_marker(m)
  return string.format(
    '{"kind":"dropped","count":%.0f,"by":{"global":%.0f,"system":%.0f,"trace":%.0f},'
    .. '"first":%.0f,"last":%.0f}',
    m.count, m.by.global, m.by.system, m.by.trace, m.first, m.last)
end

-- A drop run (refusals, counted per level) as a marker table.
local function new_run(global, system, trace, first, last)
  return {count = global + system + trace, by = {global = global, system = system, trace = trace},
          first = first, last = last}
end

-- The newest stored item of a list: a marker table when it is one, false for an entry,
-- "none" when the list does not exist.
local function head_of(key, now)
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

-- A drop run joins a trace's new items (oldest first; \`head\`, head_of's answer, before them)
-- where it happened: it extends the newest item when that is a marker, else follows as one.
-- False when the trace has no list and nothing new: a refusal never creates a key.
local function add_run(items, head, run)
  local newest = items[#items]
  if newest == nil then newest = head end
  if newest == "none" then return false end
  if type(newest) == "table" then
    newest.count = newest.count + run.count
    for _, level in ipairs(MARKER_LEVELS) do newest.by[level] = newest.by[level] + run.by[level] end
    newest.last = run.last
  else
    items[#items + 1] = run
  end
  return true
end

-- A list is kept within max_items: when a push makes it longer, its oldest items go, down to the
-- newest max_items - 1 and a trimmed marker at the tail that counts every item removed so far:
-- {"kind":"trimmed","count":N}. Two commands (RPOP of the excess with the old marker, RPUSH of
-- the new one), only for a push past the cap. Whenever the trims happen, the list is the same
-- (the newest items and the count of the rest; no time in the marker, since a held drop run is
-- written later than MemoryStore writes it), so it is exactly MemoryStore's, byte for byte.
local function trim(key, length, max_items)
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

-- Pushes \`values\` (strings, oldest first: one LPUSH leaves the newest at the head) and keeps the
-- list within max_items. True when the push created the list.
local function push(key, values, max_items)
  local length = call_chunked("LPUSH", key, values)
  trim(key, length, max_items)
  return length == #values
end

-- A written list expires ttl + slack after its newest event (\`latest\`). GT unless the write
-- created the list (GT never sets an expiry where there is none): never shorten a pinned list's
-- longer expiry (pin.lua), nor, for drop runs from earlier, what a later write has set.
-- Returns when the list expires now, at the latest.
local function expire_list(key, latest, created, now, ttl, slack)
  local until_ms = latest + ttl + slack
  if latest < now or not created then
    call("PEXPIRE", key, until_ms - now, "GT")
  else
    call("PEXPIRE", key, until_ms - now)
  end
  return until_ms
end

local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[4])
local slack = tonumber(ARGV[5])
local logs_prefix_len = string.len(ARGV[8])
local max_items = tonumber(ARGV[11])
local n_systems = tonumber(ARGV[12])
local batch_id = ARGV[13 + 2 * n_systems]
local n_runs = tonumber(ARGV[14 + 2 * n_systems])
local FIRST_RUN_ARG = 15 + 2 * n_systems
local FIRST_ENTRY_ARG = FIRST_RUN_ARG + 6 * n_runs
local window_counters = new_counters(KEYS, {
  now = now, elapsed = tonumber(ARGV[2]), window = tonumber(ARGV[3]), ttl = ttl,
  global_limit = tonumber(ARGV[6]), trace_limit = tonumber(ARGV[7]),
  system_limits = system_limits_at(13, n_systems), day = tonumber(ARGV[9]),
  uncounted = tonumber(ARGV[10]),
})

local trace_fields, expiry_fields = {}, {}
for k = 4, #KEYS do
  local trace_id = string.sub(KEYS[k], logs_prefix_len + 1, -2)
  trace_fields[k] = "t:" .. trace_id
  expiry_fields[k] = "x:" .. trace_id
end

-- The counter fields the entries need, and the traces they write.
local entry_traces = {}
local has_entries = #ARGV >= FIRST_ENTRY_ARG
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  entry_traces[k] = true
  want_entry(window_counters, ARGV[i + 1], trace_fields[k])
end

-- The counts (lib/counters.lua), read with each entry trace's x: (until when its list's expiry
-- was last set) in the same HMGET.
local expires = {}
if has_entries then
  local traces, asked = {}, {}
  for k = 4, #KEYS do
    if entry_traces[k] then
      traces[#traces + 1] = k
      asked[#asked + 1] = expiry_fields[k]
    end
  end
  local values = read_counts(window_counters, asked)
  for j, k in ipairs(traces) do expires[k] = tonumber(values[j]) or 0 end
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
      for i = lo, hi do heads[ks[i]] = head_of(KEYS[ks[i]], now) end
    else
      local mid = math.floor((lo + hi) / 2)
      local left = exists(lo, mid)
      split(lo, mid, left)
      split(mid + 1, hi, n - left)
    end
  end
  if #ks == 1 then
    heads[ks[1]] = head_of(KEYS[ks[1]], now)  -- LINDEX answers both questions at once
  elseif #ks > 1 then
    split(1, #ks, exists(1, #ks))
  end
  return heads
end

-- The decisions first: they do not depend on the lists. Then each trace's events in order:
-- drop runs (from the caller), then the entries, admitted or refused.
local decisions, events = {}, {}
for i = FIRST_RUN_ARG, FIRST_ENTRY_ARG - 1, 6 do
  local run = new_run(tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]),
                      tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
  events[#events + 1] = {k = tonumber(ARGV[i]), from_caller = true, run = run}
end
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local code, left_global, left_system, left_trace, wait = decide(window_counters, ARGV[i + 1], trace_fields[k])
  if code == 0 then
    events[#events + 1] = {k = k, payload = ARGV[i + 2]}
  else
    local by = {0, 0, 0}
    by[code] = 1
    events[#events + 1] = {k = k, run = new_run(by[1], by[2], by[3], now, now)}
  end
  local n = #decisions
  decisions[n + 1], decisions[n + 2], decisions[n + 3] = code, left_global, left_system
  decisions[n + 4], decisions[n + 5] = left_trace, wait
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
      heads[event.k] = head_of(KEYS[event.k], now)
    elseif event.run then
      refused_first[#refused_first + 1] = event.k
    end
  end
end
if #refused_first > 0 then
  for k, head in pairs(heads_of(refused_first)) do heads[k] = head end
end

-- Per trace: the new items, oldest first (payload strings and marker tables), and the time of
-- its newest event written.
local new_items, latest = {}, {}
for k = 4, #KEYS do new_items[k] = {} end
local unmarked = 0
local admitted = {}

for _, event in ipairs(events) do
  local k = event.k
  if not event.run then
    local items = new_items[k]
    items[#items + 1] = event.payload
    admitted[k] = true
    latest[k] = now
  elseif add_run(new_items[k], heads[k], event.run) then
    latest[k] = math.max(latest[k] or 0, event.run.last)
  else
    unmarked = unmarked + event.run.count
  end
end

-- The lists. A list's expiry is set only when it would otherwise come less than ttl after this
-- write: then to ttl + slack after it, and x:{trace_id} remembers until when, so the next writes
-- within slack_ms skip the PEXPIRE.
local hash_pairs = {}  -- HSET field/value pairs for the current window's hash
for k = 4, #KEYS do
  local head = heads[k]
  -- LSET before LPUSH: index 0 is still the old head.
  if type(head) == "table" then call("LSET", KEYS[k], 0, encode_marker(head)) end
  local values = {}
  for i, item in ipairs(new_items[k]) do
    values[i] = type(item) == "table" and encode_marker(item) or item
  end
  local created = #values > 0 and push(KEYS[k], values, max_items)
  if latest[k] and (created or (expires[k] or 0) < latest[k] + ttl) then
    local until_ms = expire_list(KEYS[k], latest[k], created, now, ttl, slack)
    if latest[k] >= now and entry_traces[k] then
      hash_pairs[#hash_pairs + 1] = expiry_fields[k]
      hash_pairs[#hash_pairs + 1] = until_ms
    end
  end
end

-- The counters, the recent-traces index (l:{trace_id}: last admission) and the batch id, in one
-- HSET (lib/counters.lua).
if next(admitted) then
  counter_pairs(window_counters, hash_pairs)
  for k = 4, #KEYS do
    if admitted[k] then
      hash_pairs[#hash_pairs + 1] = "l:" .. string.sub(trace_fields[k], 3)
      hash_pairs[#hash_pairs + 1] = now
    end
  end
  hash_pairs[#hash_pairs + 1] = "b:" .. batch_id
  hash_pairs[#hash_pairs + 1] = 1
  store_counters(window_counters, hash_pairs)
end

local reply = {0, unmarked}
reply_counts(window_counters, reply)
local written = {}
for k = 4, #KEYS do
  if latest[k] then written[#written + 1] = k end
end
reply[#reply + 1] = #written
for _, k in ipairs(written) do reply[#reply + 1] = k end
for _, value in ipairs(decisions) do reply[#reply + 1] = value end
reply[1] = calls
return reply
`;
