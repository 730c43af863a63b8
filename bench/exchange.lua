-- wrk script: POST /oauth/token (RFC 8693 form bodies), the subject token
-- drawn at random from TOKENS_FILE (one per line, all of one length).
-- Used against nginx's static answer too, so wrk does the same work per
-- request on both.
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  math.randomseed(os.time() * 100 + (tid or 0))
end

local head = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange" ..
             "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token" ..
             "&subject_token="

function request()
  return wrk.format("POST", "/oauth/token",
                    {["Content-Type"] = "application/x-www-form-urlencoded"},
                    head .. tokens[math.random(#tokens)])
end

function done(summary, latency, requests)
  io.write(string.format("p99.9 %.3f max %.3f\n", latency:percentile(99.9) / 1000,
                         latency.max / 1000))
end
