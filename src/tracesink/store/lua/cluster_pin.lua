--[[ cluster_pin.lua: pin.lua's steps on a Redis Cluster, each on one slot.

pin.lua touches a trace's list and pin (the trace's slot) and the pins' index (the slot of
{tracesink}) in one call, which a Cluster refuses (CROSSSLOT). store/cluster_pins.py runs its
steps apart, in this order (ARGV[1] names the step):

pin:    "measure" (trace slot)  the list's bytes and its normal end
        "claim"   (index slot)  the bounds checked against the other live pins, the pin recorded
        "apply"   (trace slot)  the list's expiry moved to the pin's end, the pin's key set
unpin:  "drop"    (index slot)  the pin out of the index
        "release" (trace slot)  the pin's key deleted, the list's normal expiry given back

A failure between two steps leaves a pin claimed but not applied (the caller is told it failed,
and pins again or unpins: each step is safe to repeat), never a list kept without its pin
counted. The bounds, the statuses and the expiry are pin.lua's (see there).

KEYS for "measure", "apply", "release": <prefix>logs:{<trace_id>}, <prefix>pin:{<trace_id>}
KEYS for "claim", "drop":               <prefix>pins:{tracesink}

ARGV[1] the step   ARGV[2] now_ms   ARGV[3] the trace id, then per step:
  "measure": ttl_ms, slack_ms          "claim": until_ms, the trace's bytes, max_pins, max_bytes
  "apply": until_ms, the list's end    "release": ttl_ms, slack_ms        "drop": nothing

Returns {calls, status, a, b}: "measure" 1 (a: bytes, b: the list's normal end) or 0 (no list);
"claim" as pin.lua's pin (1, or -1 / -2 refused, with its a and b); "apply" 1; "drop" 1;
"release" as pin.lua's unpin (1 with the list's expiry ms or 0 when it went; 0: not pinned).
]]

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

local step, now, trace_id = ARGV[1], tonumber(ARGV[2]), ARGV[3]

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
local function normal_end(head, ttl, slack)
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

if step == "measure" then
  local ttl, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
  local items = call("LRANGE", KEYS[1], 0, -1)
  if #items == 0 then return {calls, 0, 0, 0} end
  local size = 0
  for _, item in ipairs(items) do size = size + string.len(item) end
  return {calls, 1, size, normal_end(items[1], ttl, slack)}
end

if step == "claim" then
  local until_ms, size = tonumber(ARGV[4]), tonumber(ARGV[5])
  local max_pins, max_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])
  local held, held_bytes, latest, expired = 0, 0, until_ms, {}
  local index = call("HGETALL", KEYS[1])
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
  if #expired > 0 then call("HDEL", KEYS[1], unpack(expired)) end
  if held + 1 > max_pins then return {calls, -1, held, 0} end
  if held_bytes + size > max_bytes then return {calls, -2, held_bytes, size} end
  call("HSET", KEYS[1], trace_id, string.format("%.0f:%.0f:%.0f", until_ms, size, now))
  call("PEXPIRE", KEYS[1], latest - now)  -- the index lives as long as its longest pin
  return {calls, 1, 0, 0}
end

if step == "apply" then
  local until_ms, ends = tonumber(ARGV[4]), tonumber(ARGV[5])
  call("PEXPIRE", KEYS[1], ends - now)
  call("SET", KEYS[2], ARGV[4], "PX", until_ms - now)
  return {calls, 1, 0, 0}
end

if step == "drop" then
  call("HDEL", KEYS[1], trace_id)
  return {calls, 1, 0, 0}
end

-- "release"
local ttl, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
if call("DEL", KEYS[2]) == 0 then return {calls, 0, 0, 0} end
local head = call("LINDEX", KEYS[1], 0)
if not head then return {calls, 1, 0, 0} end
local ends = normal_end(head, ttl, slack)
-- Not positive, PEXPIRE deletes the list at once: its hour had passed while it was pinned.
call("PEXPIRE", KEYS[1], ends - now)
if ends <= now then ends = 0 end
return {calls, 1, ends, 0}
