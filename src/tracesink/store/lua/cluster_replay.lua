--[[ cluster_replay.lua: claim a spooled batch's counts on a Redis Cluster, exactly once.

The first step of a replay on a Cluster (store/cluster.py); cluster_append.lua then stores each
trace's entries on its own slot. The counters' part of replay_batch.lua: when the batch was never
decided (b:<batch id> absent from the hash of its original window), its entries are counted into
the current window (they were admitted by the instance's own counters during the outage and
acknowledged), listed in the recent-traces index, and b:<batch id> records that none of them
was refused. When it was decided before (cluster_decide.lua ran and its appends failed, or an
earlier replay stopped half-way), nothing is counted again, and b: names the entries the
decision refused: the others, and only those, are stored.

KEYS[1]  <prefix>rl:{tracesink}:<window of the original attempt>  HASH  holds b:<batch id>
KEYS[2]  <prefix>rl:{tracesink}:<current window>                  HASH  counters, l: (the index)

ARGV[1] now_ms   ARGV[2] window_ms   ARGV[3] ttl_ms   ARGV[4] batch id
ARGV[5] n, the systems that have a limit; ARGV[6 .. 5 + n]: their names
ARGV[6 + n] t, the number of distinct traces; then t trace ids
then two values per entry, oldest first: the index (from 1) of its trace id, its system

Returns {calls, refused}: the ids of the entries the decision refused, space-separated ("": none).
]]

--#include lib/calls.lua
--#include lib/replay.lua

local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local marker = "b:" .. ARGV[4]
local decided = call("HGET", KEYS[1], marker)
if decided then return {calls, decided} end

local n_systems = tonumber(ARGV[5])
local limited = limited_systems(6, n_systems)
local n_traces = tonumber(ARGV[6 + n_systems])
local FIRST_TRACE_ARG = 7 + n_systems
local FIRST_ENTRY_ARG = FIRST_TRACE_ARG + n_traces

local trace_ids = {}
for t = 1, n_traces do trace_ids[t] = ARGV[FIRST_TRACE_ARG + t - 1] end
local tally = new_tally()
for i = FIRST_ENTRY_ARG, #ARGV, 2 do
  tally_entry(tally, limited, ARGV[i + 1], trace_ids[tonumber(ARGV[i])])
end

count_replay(tally, KEYS[2], trace_ids, KEYS[1], marker, "", now, window, ttl)
return {calls, ""}
