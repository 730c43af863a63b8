-- wrk script: GET /auth with a token per request from TOKENS_FILE (one
-- token per line, all of one length). MODE=random draws uniformly from the
-- whole file; MODE=seq walks it (each thread its own stride) to warm a
-- cache. Used for the nginx baseline too, so wrk spends the same effort per
-- request on both.
--
-- The tokens live in one C buffer (LuaJIT's FFI), not in Lua strings: with
-- a million tokens held as Lua values, LuaJIT's collector made wrk itself a
-- quarter slower (measured against nginx), and the number of tokens would
-- have measured the load generator instead of the server.
local ffi = require("ffi")
ffi.cdef [[
int posix_memalign(void **memptr, size_t alignment, size_t size);
int madvise(void *addr, size_t length, int advice);
]]
local MADV_HUGEPAGE = 14

local buf = nil
local width = 0
local count = 0
local threads = {}
local mode = "random"
local pos = 0
local stride = 1

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local f = assert(io.open(os.getenv("TOKENS_FILE"), "rb"))
  local data = f:read("*a")
  f:close()
  width = (data:find("\n", 1, true) or (#data + 1))
  count = math.floor(#data / width)
  assert(count > 0 and count * width == #data, "tokens must all be of one length")
  -- Never freed: it lives as long as the thread. In 2 MiB pages where the
  -- kernel allows (transparent huge pages): random draws from a million
  -- tokens would otherwise cost wrk a TLB miss each, which nginx's baseline
  -- and patd pay alike but which still slows the load generator.
  local p = ffi.new("void *[1]")
  local size = math.ceil(#data / 2097152) * 2097152
  assert(ffi.C.posix_memalign(p, 2097152, size) == 0)
  ffi.C.madvise(p[0], size, MADV_HUGEPAGE)
  buf = ffi.cast("char *", p[0])
  ffi.copy(buf, data, #data)
  data = nil
  collectgarbage()
  mode = os.getenv("MODE") or "random"
  stride = tonumber(os.getenv("THREADS") or "1")
  -- OFFSET lets successive warm-up runs continue where the last one ended.
  pos = tonumber(os.getenv("OFFSET") or "0") + (tid or 1) - 1
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local i
  if mode == "seq" then
    pos = pos + stride
    while pos > count do pos = pos - count end
    i = pos
  else
    i = math.random(count)
  end
  return wrk.format("GET", "/auth", {
    ["Authorization"] = "Bearer " .. ffi.string(buf + (i - 1) * width, width - 1),
    ["X-Original-Method"] = "GET",
    ["X-Original-URI"] = "/api/projects/1",
  })
end

-- The tail beyond wrk's own percentiles, in milliseconds, for bench/run.py.
function done(summary, latency, requests)
  io.write(string.format("p99.9 %.3f max %.3f\n", latency:percentile(99.9) / 1000,
                         latency.max / 1000))
end
