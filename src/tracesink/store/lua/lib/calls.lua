-- lib/calls.lua: redis.call, counted (a hosted Redis bills each call a script makes, so every
-- script's reply starts with `calls`), and a command whose arguments may outgrow unpack(),
-- which is bounded by Lua's C stack (8000 values): longer argument lists go in chunks.
local CHUNK = 4000

local calls = 0
local function call(...)
  calls = calls + 1
  return redis.call(...)
end

-- One command per CHUNK arguments: a table reply is the chunks' replies joined, any other the
-- last chunk's (LPUSH: the list's length after the last push).
local function call_chunked(command, key, args)
  local out = {}
  for i = 1, #args, CHUNK do
    local reply = call(command, key, unpack(args, i, math.min(i + CHUNK - 1, #args)))
    if type(reply) == "table" then
      for _, value in ipairs(reply) do out[#out + 1] = value end
    else
      out = reply
    end
  end
  return out
end
