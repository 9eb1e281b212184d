--[[ pin.lua: pin a trace (keep it past the TTL), or unpin it, in one atomic step.

A pin is bounded: at most max_pins pins, whose traces' bytes (measured when pinned) add up to at
most max_bytes. A pinned trace's list expires at max(the pin's end, its normal expiry); writes
to it (write_batch.lua, replay_batch.lua) set expiry with PEXPIRE ... GT, which never shortens
it. Expiry is set relative to now_ms (PEXPIRE, as write_batch.lua does), so the caller's
clock, not the server's, says when a pin ends. Unpinning restores the normal expiry: ttl + slack after the trace's newest item (its
received_at, or a drop marker's last), so a trace whose hour has passed goes at once.
Key layout and what each command costs: docs/keys.md.

KEYS[1]  <prefix>logs:{<trace_id>}   LIST    the trace
KEYS[2]  <prefix>pin:{<trace_id>}    STRING  the pin's end (ms), expiring then
KEYS[3]  <prefix>pins:{tracesink}    HASH    trace id -> "<until>:<bytes>:<pinned at>", every pin

ARGV[1] now_ms   ARGV[2] the trace id   ARGV[3] until_ms, the pin's end (0: unpin)
ARGV[4] ttl_ms   ARGV[5] slack_ms   ARGV[6] max_pins   ARGV[7] max_bytes

Returns {calls, status, a, b}: calls counts this script's redis.call()s (a hosted Redis bills
each). Pin: status 1 pinned (a: the trace's bytes, b: the list's expiry ms), 0 no such trace,
-1 refused by the count (a: pins held), -2 refused by the bytes (a: bytes held, b: this trace's).
Unpin: status 1 unpinned (a: the list's expiry ms, 0 when it went at once), 0 it was not pinned.
]]

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local now, trace_id, until_ms = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local ttl, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_pins, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])

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

-- When the list would expire without a pin: ttl + slack after its newest item was written.
local function normal_end(head)
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

if until_ms == 0 then
  call("HDEL", KEYS[3], trace_id)
  if call("DEL", KEYS[2]) == 0 then return {calls, 0, 0, 0} end
  local head = call("LINDEX", KEYS[1], 0)
  if not head then return {calls, 1, 0, 0} end
  local ends = normal_end(head)
  -- Not positive, PEXPIRE deletes the list at once: its hour had passed while it was pinned.
  call("PEXPIRE", KEYS[1], ends - now)
  if ends <= now then ends = 0 end
  return {calls, 1, ends, 0}
end

local items = call("LRANGE", KEYS[1], 0, -1)
if #items == 0 then return {calls, 0, 0, 0} end
local size = 0
for _, item in ipairs(items) do size = size + string.len(item) end

-- The other live pins (a pin of this trace is replaced); expired ones are removed here.
local held, held_bytes, latest, expired = 0, 0, until_ms, {}
local index = call("HGETALL", KEYS[3])
for i = 1, #index, 2 do
  local pin_end, pin_bytes = string.match(index[i + 1], "^(%d+):(%d+)")
  pin_end, pin_bytes = tonumber(pin_end) or 0, tonumber(pin_bytes) or 0
  if pin_end <= now then
    expired[#expired + 1] = index[i]
  elseif index[i] ~= trace_id then
    held, held_bytes = held + 1, held_bytes + pin_bytes
    latest = math.max(latest, pin_end)
  end
end
if #expired > 0 then call("HDEL", KEYS[3], unpack(expired)) end
if held + 1 > max_pins then return {calls, -1, held, 0} end
if held_bytes + size > max_bytes then return {calls, -2, held_bytes, size} end

local ends = math.max(until_ms, normal_end(items[1]))
call("PEXPIRE", KEYS[1], ends - now)
call("SET", KEYS[2], ARGV[3], "PX", until_ms - now)
call("HSET", KEYS[3], trace_id, string.format("%.0f:%.0f:%.0f", until_ms, size, now))
-- The index lives as long as its longest pin.
call("PEXPIRE", KEYS[3], latest - now)
return {calls, 1, size, ends}
