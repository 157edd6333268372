-- wrk script for `utilipay bench payments`: replays pre-signed requests.
-- Each thread reads its own file of signed requests (one per line:
-- timestamp, nonce, signature, terminal (empty for the channel's own), body,
-- tab-separated) and sends each once, to the path in the directory's file `path`.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local dir, channel = args[1], args[2]
  local path_file = io.open(dir .. "/path")
  local path = path_file:read("*l")
  path_file:close()
  requests = {}
  for line in io.lines(dir .. "/requests-" .. tid .. ".tsv") do
    local ts, nonce, sig, terminal, body =
      line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {
      ["Content-Type"] = "application/json",
      ["X-Utilipay-Channel"] = channel,
      ["X-Utilipay-Timestamp"] = ts,
      ["X-Utilipay-Nonce"] = nonce,
      ["X-Utilipay-Signature"] = sig,
    }
    if terminal ~= "" then
      headers["X-Utilipay-Terminal"] = terminal
    end
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  index = 0
  exhausted = 0
end

function request()
  index = index + 1
  if index > #requests then
    exhausted = 1
    wrk.thread:stop()
    index = #requests
  end
  return requests[index]
end

function done(summary, latency, requests)
  local exhausted_threads = 0
  for _, t in ipairs(threads) do
    exhausted_threads = exhausted_threads + t:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "exhausted_threads": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    exhausted_threads))
end
