-- wrk script for the matrix's POST shape: a 1 KiB body (BODY_BYTES), PIPELINE requests
-- per write (1 = one in flight per connection, as `plain`). matrix.py hands it to the
-- shared compare.py as that ruler's pipeline.lua.
local depth = tonumber(os.getenv("PIPELINE") or "16")
local size = tonumber(os.getenv("BODY_BYTES") or "1024")
init = function(args)
  local body = string.rep("x", size)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format("POST", "/", { ["Content-Type"] = "application/octet-stream" }, body)
  end
  req = table.concat(r)
end
request = function() return req end
