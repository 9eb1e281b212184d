--[[ lib/replay.lua: a spooled batch's entries counted into the current window, once: the
counters' part of a replay, for replay_batch.lua (a single primary) and cluster_replay.lua (a
cluster's counters' slot). Needs lib/calls.lua before it.

The entries were admitted by the instance's own counters during an outage and acknowledged, so
they are not decided again: each is counted at its levels (as write_batch.lua names them), and the
batch id is recorded in its original window's hash so that no replay counts it twice.
]]

-- The systems that have a limit: n names from ARGV[first].
local function limited_systems(first, n)
  local limited = {}
  for i = first, first + n - 1 do limited[ARGV[i]] = true end
  return limited
end

-- The counts of a batch's entries per counter field, fields in order of first count.
local function new_tally()
  return {counts = {}, order = {}}
end

local function tally_field(tally, field)
  if tally.counts[field] == nil then
    tally.counts[field] = 0
    tally.order[#tally.order + 1] = field
  end
  tally.counts[field] = tally.counts[field] + 1
end

-- One entry: "g", its system's when that has a limit, its trace's.
local function tally_entry(tally, limited, system, trace_id)
  tally_field(tally, "g")
  if limited[system] then tally_field(tally, "s:" .. system) end
  tally_field(tally, "t:" .. trace_id)
end

-- As write_batch.lua keeps them: a hash lives one window more than its own, and as long as a
-- trace it lists may live. Set when the hash has no expiry yet (these calls created it).
local function keep_hash(key, window, ttl)
  if call("PTTL", key) == -1 then call("PEXPIRE", key, window + math.max(window, ttl)) end
end

-- The tally into the current window's hash (`hash`) with l:<trace id> (the recent-traces index)
-- for each of `trace_ids`; then `marker` = `value` in the hash of the batch's original window.
local function count_replay(tally, hash, trace_ids, marker_hash, marker, value, now, window, ttl)
  for _, trace_id in ipairs(trace_ids) do call("HSET", hash, "l:" .. trace_id, now) end
  for _, field in ipairs(tally.order) do call("HINCRBY", hash, field, tally.counts[field]) end
  keep_hash(hash, window, ttl)
  call("HSET", marker_hash, marker, value)
  keep_hash(marker_hash, window, ttl)
end
