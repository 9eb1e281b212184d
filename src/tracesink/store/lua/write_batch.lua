--[[ write_batch.lua: decide, store and expire one batch of log entries in one atomic step.

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

--#include lib/calls.lua
--#include lib/window.lua
--#include lib/counters.lua
--#include lib/lists.lua

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
