--[[ lib/pins.lua: a pin's steps, shared by pin.lua (all in one call on a single primary) and
cluster_pin.lua (each step on its own slot of a cluster). Needs lib/calls.lua before it.

A pin is bounded: at most max_pins pins, whose traces' bytes (measured when pinned) add up to at
most max_bytes. A pinned trace's list expires at max(the pin's end, its normal expiry). Expiry
is set relative to now_ms (PEXPIRE, as write_batch.lua does), so the caller's clock, not the
server's, says when a pin ends.
]]

-- ms since the epoch of an ISO 8601 UTC time as tracesink writes it (2026-01-02T03:04:05.678Z):
-- days from the civil date (H. Hinnant's algorithm), exact for any year.
local function epoch_ms(iso)
  if type(iso) ~= "string" then return nil end
  local y, mo, d, h, mi, s, ms = string.match(
    iso, "^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)Z$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
    - 719468
  local frac = 0
  if ms ~= "" then frac = tonumber(string.sub(ms .. "00", 1, 3)) end
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(s) * 1000 + frac
end

-- When the list would expire without a pin: ttl + slack after its newest item (`head`) was
-- written (an entry's received_at, a drop marker's last).
local function normal_end(head, now, ttl, slack)
  local written = now
  local ok, item = pcall(cjson.decode, head)
  if ok and type(item) == "table" then
    if item.kind == "dropped" then
      written = tonumber(item.last) or now
    else
      written = epoch_ms(item.received_at) or now
    end
  end
  return written + ttl + slack
end

-- The list's bytes and its newest item; nil when there is no list.
local function measure(list_key)
  local items = call("LRANGE", list_key, 0, -1)
  if #items == 0 then return nil, nil end
  local size = 0
  for _, item in ipairs(items) do size = size + string.len(item) end
  return size, items[1]
end

-- The pin recorded in the index (a hash: trace id -> "<until>:<bytes>:<pinned at>") if the
-- bounds allow it, counting the other live pins (a pin of this trace is replaced; ended ones are
-- removed here); the index lives as long as its longest pin. Returns status, a, b: 1, 0, 0
-- recorded; -1, pins held (refused by the count); -2, bytes held, this trace's (by the bytes).
local function claim(index_key, trace_id, until_ms, size, now, max_pins, max_bytes)
  local held, held_bytes, latest, ended = 0, 0, until_ms, {}
  local index = call("HGETALL", index_key)
  for i = 1, #index, 2 do
    local pin_end, pin_bytes = string.match(index[i + 1], "^(%d+):(%d+)")
    pin_end, pin_bytes = tonumber(pin_end) or 0, tonumber(pin_bytes) or 0
    if pin_end <= now then
      ended[#ended + 1] = index[i]
    elseif index[i] ~= trace_id then
      held, held_bytes = held + 1, held_bytes + pin_bytes
      latest = math.max(latest, pin_end)
    end
  end
  if #ended > 0 then call("HDEL", index_key, unpack(ended)) end
  if held + 1 > max_pins then return -1, held, 0 end
  if held_bytes + size > max_bytes then return -2, held_bytes, size end
  call("HSET", index_key, trace_id, string.format("%.0f:%.0f:%.0f", until_ms, size, now))
  call("PEXPIRE", index_key, latest - now)
  return 1, 0, 0
end

-- The list kept until `ends` (the later of the pin's end and its normal end), and the pin's key
-- set to `until_arg` (the pin's end, as the caller sent it) until then.
local function apply_pin(list_key, pin_key, until_arg, ends, now)
  call("PEXPIRE", list_key, ends - now)
  call("SET", pin_key, until_arg, "PX", tonumber(until_arg) - now)
end

-- The pin's key deleted and the list's normal expiry given back. Returns status, ends: 0 when
-- it was not pinned; 1 and the list's expiry ms, or 0 when it went at once (its hour had passed
-- while it was pinned: PEXPIRE of a time not positive deletes it).
local function release(list_key, pin_key, now, ttl, slack)
  if call("DEL", pin_key) == 0 then return 0, 0 end
  local head = call("LINDEX", list_key, 0)
  if not head then return 1, 0 end
  local ends = normal_end(head, now, ttl, slack)
  call("PEXPIRE", list_key, ends - now)
  if ends <= now then ends = 0 end
  return 1, ends
end
