-- wrk script: POST the AdmissionReview in BODY_FILE; with DELAY_MS set, each connection waits
-- that long between requests (a fixed offered rate for the latency-at-half-load run).
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("CLOSE") == "1" then wrk.headers["Connection"] = "close" end
local d = tonumber(os.getenv("DELAY_MS") or "0")
if d > 0 then function delay() return d end end
