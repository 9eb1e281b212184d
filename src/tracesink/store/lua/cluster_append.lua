--[[ cluster_append.lua: write traces' shares of a batch into their lists, on one slot.

The second step of a batch on a Redis Cluster (store/cluster.py): cluster_decide.lua has decided
the batch on the counters' slot; this script writes, for one trace, what write_batch.lua writes
to that trace's list: drop runs (extending the newest marker), admitted entries, the cap
(trimmed marker) and the expiry; each list's bytes equal what write_batch.lua (and MemoryStore)
would have written. Only the lists in KEYS are touched, one trace's each, all of one slot (one
trace's, or traces whose ids share a slot), so it runs on that slot's shard.

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

local CHUNK = 4000  -- unpack() is bounded by Lua's C stack

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local now, ttl, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_items = tonumber(ARGV[4])
local replaying = ARGV[5] == "r"

-- As write_batch.lua encodes, reads and trims (see there): the same bytes.
local function encode_marker(m)
  return string.format(
    '{"kind":"dropped","count":%.0f,"by":{"global":%.0f,"system":%.0f,"trace":%.0f},'
    .. '"first":%.0f,"last":%.0f}',
    m.count, m.by.global, m.by.system, m.by.trace, m.first, m.last)
end

local function head_of(key)
  local item = call("LINDEX", key, 0)
  if not item then return "none" end
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

local function trim(key, length)
  if length <= max_items then return end
  local gone = call("RPOP", key, length - max_items + 1)
  local removed = #gone
  if string.sub(gone[1], 1, 17) == '{"kind":"trimmed"' then
    local ok, decoded = pcall(cjson.decode, gone[1])
    removed = removed - 1 + (ok and type(decoded) == "table" and tonumber(decoded.count) or 0)
  end
  call("RPUSH", key, string.format('{"kind":"trimmed","count":%.0f}', removed))
end

local function push(key, values)
  local length = 0
  for i = 1, #values, CHUNK do
    length = call("LPUSH", key, unpack(values, i, math.min(i + CHUNK - 1, #values)))
  end
  trim(key, length)
  return length == #values  -- created by this push
end

-- A replay: the payloads ARGV[first .. last], unless the list already holds the newest.
local function replay(key, first, last)
  local values = {}
  for i = first, last do values[#values + 1] = ARGV[i] end
  if #values == 0 or call("LPOS", key, values[#values]) then return 0, 0, 0 end
  -- GT unless the push created the list: never shorten a pinned list's expiry (pin.lua).
  if push(key, values) then
    call("PEXPIRE", key, ttl + slack)
  else
    call("PEXPIRE", key, ttl + slack, "GT")
  end
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
      local g, s, t = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
      local run = {count = g + s + t, by = {global = g, system = s, trace = t},
                   first = tonumber(ARGV[i + 4]), last = tonumber(ARGV[i + 5])}
      i = i + 6
      local newest = items[#items]
      if newest == nil then
        if head == nil then head = head_of(key) end
        newest = head
      end
      if newest == "none" then
        unmarked = unmarked + run.count
      else
        if type(newest) == "table" then
          newest.count = newest.count + run.count
          for _, level in ipairs({"global", "system", "trace"}) do
            newest.by[level] = newest.by[level] + run.by[level]
          end
          newest.last = run.last
        else
          items[#items + 1] = run
        end
        latest = math.max(latest or 0, run.last)
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
  local created = #values > 0 and push(key, values)
  local until_ms = latest + ttl + slack
  if latest < now or not created then
    -- GT: never shorten a pinned list's expiry, nor what a later write has set.
    call("PEXPIRE", key, until_ms - now, "GT")
  else
    call("PEXPIRE", key, until_ms - now)
  end
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
