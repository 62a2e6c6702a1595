-- wrk script: mixed traffic with an expected answer per request. LOAD_CASES holds one case a
-- line: `METHOD PATH TOKEN STATUS REASON` (`-` for no token or no reason). Run it with as many
-- threads as connections (-tN -cN): each thread has one connection, so its answers arrive in
-- the order of its requests and each is checked against the case that was sent.
local cases = {}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  for line in string.gmatch(os.getenv("LOAD_CASES") or "", "[^\n]+") do
    local method, path, token, status, reason = string.match(line, "^(%S+) (%S+) (%S+) (%d+) (%S+)$")
    if method then
      local headers = {}
      if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
      local body = nil
      if method ~= "GET" then
        body = '{"load":true}'
        headers["Content-Type"] = "application/json"
      end
      table.insert(cases, {
        request = wrk.format(method, path, headers, body),
        status = tonumber(status),
        reason = reason ~= "-" and ('"reason":"' .. reason .. '"') or nil,
      })
    end
  end
  -- Globals read back by done().
  sent, checked, wrong, server_errors = 0, 0, 0, 0
  pending, head, tail = {}, 1, 0
  next_case = id or 1
end

function request()
  if id == 1 and not verified then
    -- wrk calls the first thread's request() once before the run, to check the request
    -- (script_verify_request); that request is never sent.
    verified = true
    return cases[1].request
  end
  local case = cases[(next_case - 1) % #cases + 1]
  next_case = next_case + 1
  tail = tail + 1
  pending[tail] = case
  sent = sent + 1
  return case.request
end

function response(status, headers, body)
  local case = pending[head]
  pending[head] = nil
  head = head + 1
  checked = checked + 1
  if status >= 500 then server_errors = server_errors + 1 end
  if case == nil or status ~= case.status or (case.reason and not string.find(body, case.reason, 1, true)) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local totals = { checked = 0, wrong = 0, server_errors = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(totals) do totals[k] = totals[k] + (t:get(k) or 0) end
  end
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d errors=%d checked=%d wrong=%d server_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    totals.checked, totals.wrong, totals.server_errors))
end
