-- Workload (b): POST /logs, a JSON array of 20 entries of ONE trace per request -- what a
-- browser client that buffers its logs sends when it flushes (the browser script is planned). Each entry is ~210 bytes like workload (a),
-- with a unique message; the trace is drawn uniformly from 1000 distinct ids. Entries are built
-- from precomputed pieces and joined with table.concat. done() prints one JSON line for
-- bench/run.py.

local N_TRACES = 1000
local BATCH = 20
local PATH = "/logs"

-- {level, system, message text, context JSON}: a browser session's mix of lines.
local VARIANTS = {
  { "info", "browser", "fetch /api/cart/items -> 200 in 143 ms", '{"url":"/checkout","component":"CartSummary","sid":"a81f"}' },
  { "log", "browser", "render Dashboard took 38 ms, 212 rows", '{"url":"/dashboard","route":"dashboard.index","sid":"c07e"}' },
  { "warn", "browser", "retrying POST /api/orders after 503", '{"url":"/checkout","attempt":2,"online":true,"sid":"19bd"}' },
  { "error", "browser", "TypeError: cannot read 'id' of undefined", '{"url":"/orders/view","line":118,"col":22,"sid":"e4a2"}' },
  { "info", "browser", "navigation /orders -> /orders/view in 61 ms", '{"url":"/orders/view","route":"orders.view","sid":"5f30"}' },
  { "log", "browser", "websocket heartbeat ok, rtt 24 ms, queue 0", '{"url":"/dashboard","socket":"live-updates","sid":"b6c9"}' },
}

local traces = {}
local pre, mid, post = {}, {}, {}
local head
tid = 0 -- global: set per thread by setup() (thread:set writes a global)
local seq = 0
local nv = #VARIANTS
local parts = {}

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local function uuid()
  return string.format(
    "%08x-%04x-4%03x-%04x-%06x%06x",
    math.random(0, 0x7fffffff),
    math.random(0, 0xffff),
    math.random(0, 0xfff),
    math.random(0x8000, 0xbfff),
    math.random(0, 0xffffff),
    math.random(0, 0xffffff)
  )
end

function init(args)
  -- The same 1000 trace ids as workload (a), in every thread and every run.
  math.randomseed(20240601)
  for i = 1, N_TRACES do
    traces[i] = uuid()
  end
  for i, v in ipairs(VARIANTS) do
    pre[i] = '{"trace_id":"'
    mid[i] = '","message":"' .. v[3] .. " (seq "
    post[i] = ')","level":"' .. v[1] .. '","system":"' .. v[2] .. '","context":' .. v[4] .. "}"
  end
  local host = wrk.headers["Host"] or (wrk.host .. ":" .. tostring(wrk.port))
  head = "POST " .. PATH .. " HTTP/1.1\r\nHost: " .. host
    .. "\r\nContent-Type: application/json\r\nContent-Length: "
  math.randomseed(os.time() + tid)
end

function request()
  local trace = traces[math.random(N_TRACES)]
  for i = 1, BATCH do
    seq = seq + 1
    local v = seq % nv + 1
    parts[i] = pre[v] .. trace .. mid[v] .. tid .. "-" .. seq .. post[v]
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"entries_per_request":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, BATCH
  ))
end
