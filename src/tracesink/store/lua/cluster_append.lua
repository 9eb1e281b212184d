--[[ cluster_append.lua: write traces' shares of a batch into their lists, on one slot.

The second step of a batch on a Redis Cluster (store/cluster.py): cluster_decide.lua has decided
the batch on the counters' slot; this script writes, for one trace, what write_batch.lua writes
to that trace's list: drop runs (extending the newest marker), admitted entries, the cap
(trimmed marker) and the expiry, with write_batch.lua's own code for them (lib/lists.lua): each
list's bytes equal what write_batch.lua (and MemoryStore) would have written. Only the lists in
KEYS are touched, one trace's each, all of one slot (one trace's, or traces whose ids share a
slot), so it runs on that slot's shard.

KEYS[1..]  <prefix>logs:{<trace_id>}  LIST  each trace's items, newest first

ARGV[1] now_ms   ARGV[2] ttl_ms   ARGV[3] slack_ms   ARGV[4] max_items (as write_batch.lua's)
ARGV[5] mode: "w" (a write) or "r" (a replay of a spooled batch)
then, for each key in order, the number of values that follow for it, and those values:
for "w", the trace's events oldest first, each a kind and its values:
  "e", payload                                        an admitted entry
  "r", by global, by system, by trace, first_ms, last_ms   a drop run (refusals, counted)
for "r", the payloads of the trace's admitted entries, oldest first.

A replay is idempotent: when the list already holds the newest payload (its bytes are unique:
each entry has its own id), the trace's share was stored before (by the write whose reply was
lost, or by an earlier replay) and nothing is written. Without an x: field (write_batch.lua's
expiry memory lives in the counters' hash, on another slot) the expiry is set on every write.

Returns {calls, then per key: unmarked (refusals not marked: the list does not exist), written
(1 when the list was written), stored (1 when an entry was pushed now)}.
]]

--#include lib/calls.lua
--#include lib/lists.lua

local now, ttl, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_items = tonumber(ARGV[4])
local replaying = ARGV[5] == "r"

-- A replay: the payloads ARGV[first .. last], unless the list already holds the newest.
local function replay(key, first, last)
  local values = {}
  for i = first, last do values[#values + 1] = ARGV[i] end
  if #values == 0 or call("LPOS", key, values[#values]) then return 0, 0, 0 end
  expire_list(key, now, push(key, values, max_items), now, ttl, slack)
  return 0, 1, 1
end

-- A write: the events ARGV[first .. last].
local function write(key, first, last)
  local items, head, latest, unmarked, entries = {}, nil, nil, 0, false
  local i = first
  while i <= last do
    if ARGV[i] == "e" then
      items[#items + 1] = ARGV[i + 1]
      latest, entries = now, true
      i = i + 2
    else
      local run = new_run(tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]),
                          tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
      i = i + 6
      -- The stored head matters only to a run before any new item: looked up then, once.
      if #items == 0 and head == nil then head = head_of(key, now) end
      if add_run(items, head, run) then
        latest = math.max(latest or 0, run.last)
      else
        unmarked = unmarked + run.count
      end
    end
  end

  if latest == nil then return unmarked, 0, 0 end
  -- LSET before LPUSH: index 0 is still the old head.
  if type(head) == "table" then call("LSET", key, 0, encode_marker(head)) end
  local values = {}
  for j, item in ipairs(items) do
    values[j] = type(item) == "table" and encode_marker(item) or item
  end
  local created = #values > 0 and push(key, values, max_items)
  expire_list(key, latest, created, now, ttl, slack)
  local stored = 0
  if entries then stored = 1 end
  return unmarked, 1, stored
end

local reply, at = {0}, 6
for k = 1, #KEYS do
  local count = tonumber(ARGV[at])
  local first, last = at + 1, at + count
  local unmarked, written, stored
  if replaying then
    unmarked, written, stored = replay(KEYS[k], first, last)
  else
    unmarked, written, stored = write(KEYS[k], first, last)
  end
  reply[#reply + 1] = unmarked
  reply[#reply + 1] = written
  reply[#reply + 1] = stored
  at = last + 1
end
reply[1] = calls
return reply
