-- validate.lua - wrk script: POST the seed 000 body from $TA_BODY.  With
-- TA_CHECK_BODY set, count every answer that is not HTTP 200 with retCode 0
-- (this makes wrk copy each body, so the bench leaves it off and asks the
-- server's /metrics instead).  Prints counts, rps and p99 at the end.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("TA_BODY")

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	bad = 0
end

if os.getenv("TA_CHECK_BODY") then
	function response(status, headers, body)
		if status ~= 200 or not string.find(body, '"retCode":0', 1, true) then
			bad = bad + 1
		end
	end
end

function done(summary, latency, requests)
	local total = 0
	for _, t in ipairs(threads) do
		total = total + t:get("bad")
	end
	local e = summary.errors
	io.write(string.format("bad answers: %d\n", total))
	io.write(string.format("socket errors: %d\n", e.connect + e.read + e.write + e.timeout))
	io.write(string.format("non-2xx: %d\n", e.status))
	io.write(string.format("requests: %d\n", summary.requests))
	io.write(string.format("rps: %.0f\n", summary.requests / (summary.duration / 1e6)))
	io.write(string.format("p99 ms: %.2f\n", latency:percentile(99) / 1000))
end
