-- lib/window.lua: the sliding-window math of tracesink.limits (a window's count weighted by how
-- much of it the sliding window still covers, over two fixed windows), written once for every
-- script that decides. prev and curr are a level's counts in the previous and the current fixed
-- window, elapsed the ms since the current one began.

-- Lua numbers are doubles: a / b rounds, but floor(a / b) is still exact floor division for
-- |a| < 2^53, which every value here stays below (limits.py makes the same promise).
local function idiv(a, b)
  return math.floor(a / b)
end

local function has_room(prev, curr, elapsed, window, limit)
  return prev * (window - elapsed) + (curr + 1) * window <= limit * window
end

local function remaining(prev, curr, elapsed, window, limit)
  return math.max(0, idiv(limit * window - prev * (window - elapsed) - curr * window, window))
end

local function retry_after(prev, curr, elapsed, window, limit)
  if curr + 1 <= limit then
    if prev == 0 then return 0 end
    return math.max(0, window - idiv((limit - curr - 1) * window, prev) - elapsed)
  end
  local needed = 0
  if curr > 0 then needed = window - idiv((limit - 1) * window, curr) end
  return (window - elapsed) + math.max(0, needed)
end
