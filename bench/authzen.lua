-- wrk script for the AuthZEN side by side (bench/authzen.mjs): POSTs the request bodies of
-- the file AUTHZEN_BODIES (one JSON document a line), in turn, to AUTHZEN_PATH, with the
-- PEP's token (PEP_TOKEN) when there is one.
local bodies = {}
local i = 0
local token = os.getenv("PEP_TOKEN") or ""
local path = os.getenv("AUTHZEN_PATH")
local headers = { ["content-type"] = "application/json" }
if token ~= "" then headers["authorization"] = "Bearer " .. token end

for line in io.lines(os.getenv("AUTHZEN_BODIES")) do bodies[#bodies + 1] = line end

request = function()
  i = i % #bodies + 1
  return wrk.format("POST", path, headers, bodies[i])
end

local failed = 0
response = function(status)
  if status ~= 200 then failed = failed + 1 end
end

done = function()
  io.write(string.format("unexpected statuses: %d\n", failed))
end
