-- wrk script: GET /auth with a token per request from TOKENS_FILE.
-- MODE=random draws uniformly from the whole file; MODE=seq walks it (each
-- thread its own stride) to warm a cache. Used for the nginx baseline too,
-- so wrk spends the same effort per request on both.
local tokens = {}
local threads = {}
local mode = "random"
local pos = 0
local stride = 1

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    tokens[#tokens + 1] = line
  end
  mode = os.getenv("MODE") or "random"
  stride = tonumber(os.getenv("THREADS") or "1")
  -- OFFSET lets successive warm-up runs continue where the last one ended.
  pos = tonumber(os.getenv("OFFSET") or "0") + (tid or 1) - 1
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local t
  if mode == "seq" then
    pos = pos + stride
    while pos > #tokens do pos = pos - #tokens end
    t = tokens[pos]
  else
    t = tokens[math.random(#tokens)]
  end
  return wrk.format("GET", "/auth", {
    ["Authorization"] = "Bearer " .. t,
    ["X-Original-Method"] = "GET",
    ["X-Original-URI"] = "/api/projects/1",
  })
end
