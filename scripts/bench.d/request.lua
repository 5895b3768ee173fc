-- wrk script for scripts/bench: sends one fixed request described by the
-- environment, optionally paced, and prints one JSON summary line.
--
--   BENCH_METHOD    GET or POST (default GET)
--   BENCH_BODY      request body (optional)
--   BENCH_HEADERS   file of "Name: value" lines (optional)
--   BENCH_THINK_MS  pause before each request on a connection (optional)
--
-- The summary line starts with "BENCH " and holds requests, errors,
-- duration and latency percentiles in microseconds.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")

local header_file = os.getenv("BENCH_HEADERS")
if header_file and header_file ~= "" then
  for line in io.lines(header_file) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then
      wrk.headers[name] = value
    end
  end
end

local think = tonumber(os.getenv("BENCH_THINK_MS") or "0") or 0
if think > 0 then
  function delay()
    return think
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, ' ..
    '"status_errors": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f}\n',
    summary.requests, summary.duration, socket, e.status,
    latency:percentile(50), latency:percentile(99), latency.max,
    latency.mean))
end
