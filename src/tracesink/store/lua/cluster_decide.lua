--[[ cluster_decide.lua: the limit decision of one batch on a Redis Cluster, in one atomic step.

On a Cluster one script may only touch keys of one slot: the counters (tag {tracesink}) and the
trace lists (tag: each trace id) are on different shards. So a batch is decided here, on the
counters' slot, and each trace's list is written after by cluster_append.lua on its own slot
(store/cluster.py). The decision is write_batch.lua's, from the same source (lib/counters.lua:
the same sliding window over two fixed windows, the same levels, the same day count; the contract
tests run on both), without the lists:
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

--#include lib/calls.lua
--#include lib/window.lua
--#include lib/counters.lua

local now = tonumber(ARGV[1])
local n_systems = tonumber(ARGV[9])
local batch_id = ARGV[10 + 2 * n_systems]
local n_traces = tonumber(ARGV[11 + 2 * n_systems])
local FIRST_TRACE_ARG = 12 + 2 * n_systems
local FIRST_ENTRY_ARG = FIRST_TRACE_ARG + n_traces
local window_counters = new_counters(KEYS, {
  now = now, elapsed = tonumber(ARGV[2]), window = tonumber(ARGV[3]), ttl = tonumber(ARGV[4]),
  global_limit = tonumber(ARGV[5]), trace_limit = tonumber(ARGV[6]),
  system_limits = system_limits_at(10, n_systems), day = tonumber(ARGV[7]),
  uncounted = tonumber(ARGV[8]),
})

local trace_ids = {}
for t = 1, n_traces do trace_ids[t] = ARGV[FIRST_TRACE_ARG + t - 1] end

want(window_counters, "g")
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  want_entry(window_counters, ARGV[i + 1], "t:" .. trace_ids[tonumber(ARGV[i])])
end
read_counts(window_counters, {})

local decisions, refused, admitted, any = {}, {}, {}, false
for i = FIRST_ENTRY_ARG, #ARGV, 3 do
  local t = tonumber(ARGV[i])
  local code, left_global, left_system, left_trace, wait = decide(window_counters, ARGV[i + 1], "t:" .. trace_ids[t])
  if code == 0 then
    admitted[t], any = true, true
  else
    refused[#refused + 1] = ARGV[i + 2]
  end
  local n = #decisions
  decisions[n + 1], decisions[n + 2], decisions[n + 3] = code, left_global, left_system
  decisions[n + 4], decisions[n + 5] = left_trace, wait
end

if any then
  local hash_pairs = {}
  counter_pairs(window_counters, hash_pairs)
  for t = 1, n_traces do
    if admitted[t] then
      hash_pairs[#hash_pairs + 1] = "l:" .. trace_ids[t]
      hash_pairs[#hash_pairs + 1] = now
    end
  end
  hash_pairs[#hash_pairs + 1] = "b:" .. batch_id
  hash_pairs[#hash_pairs + 1] = table.concat(refused, " ")
  store_counters(window_counters, hash_pairs)
end

local reply = {0}
reply_counts(window_counters, reply)
for _, value in ipairs(decisions) do reply[#reply + 1] = value end
reply[1] = calls
return reply
