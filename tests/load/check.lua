-- wrk script: sends the request described by the environment and counts statuses that are
-- not the expected one. PATH, METHOD, TOKEN, EXPECT.
local path = os.getenv("LOAD_PATH")
local method = os.getenv("LOAD_METHOD") or "GET"
local token = os.getenv("LOAD_TOKEN")
local expect = tonumber(os.getenv("LOAD_EXPECT") or "200")
local unexpected = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = method
  wrk.path = path
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  if method ~= "GET" then
    wrk.body = '{"load":true}'
    wrk.headers["Content-Type"] = "application/json"
  end
end

function response(status, headers, body)
  if status ~= expect then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("unexpected") or 0)
  end
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d errors=%d unexpected=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    total))
end
