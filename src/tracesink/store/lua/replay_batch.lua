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

--#include lib/calls.lua
--#include lib/lists.lua
--#include lib/replay.lua

local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local slack = tonumber(ARGV[4])
local marker = "b:" .. ARGV[5]
local logs_prefix_len = string.len(ARGV[6])
if call("HEXISTS", KEYS[1], marker) == 1 then
  return {calls, 0}
end

local max_items = tonumber(ARGV[7])
local n_systems = tonumber(ARGV[8])
local limited = limited_systems(9, n_systems)

local trace_ids = {}
for k = 3, #KEYS do trace_ids[k - 2] = string.sub(KEYS[k], logs_prefix_len + 1, -2) end

local tally, pushes = new_tally(), {}
for k = 3, #KEYS do pushes[k] = {} end
for i = 9 + n_systems, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local values = pushes[k]
  values[#values + 1] = ARGV[i + 2]
  tally_entry(tally, limited, ARGV[i + 1], trace_ids[k - 2])
end

-- The lists as write_batch.lua writes them (lib/lists.lua), then the counts (lib/replay.lua).
for k = 3, #KEYS do
  expire_list(KEYS[k], now, push(KEYS[k], pushes[k], max_items), now, ttl, slack)
end
count_replay(tally, KEYS[2], trace_ids, KEYS[1], marker, 1, now, window, ttl)
return {calls, 1}
