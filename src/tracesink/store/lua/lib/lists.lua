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

-- A drop run joins a trace's new items (oldest first; `head`, head_of's answer, before them)
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

-- Pushes `values` (strings, oldest first: one LPUSH leaves the newest at the head) and keeps the
-- list within max_items. True when the push created the list.
local function push(key, values, max_items)
  local length = call_chunked("LPUSH", key, values)
  trim(key, length, max_items)
  return length == #values
end

-- A written list expires ttl + slack after its newest event (`latest`). GT unless the write
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
