// The Lua scripts of the Redis KV layout (docs/format/redis-layout.md, version 1). Internal.
// All run without KEYS (the layout's Redis keys are derived inside), so they suit a single
// Redis server or primary, not Redis Cluster.
#pragma once

namespace strata::kv::redis_scripts {

// ARGV: min max limit (ZRANGEBYLEX bounds). Returns k1, stored1, k2, stored2, ... where
// stored is the "d"+key string (16 hex digits of version, then the value).
inline constexpr const char* kScan = R"lua(
local ks = redis.call('ZRANGEBYLEX', 'i', ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for j, k in ipairs(ks) do
  out[2 * j - 1] = k
  out[2 * j] = redis.call('GET', 'd' .. k)
end
return out
)lua";

// ARGV: nkeys, (key, version)..., nranges, (min, max, count, key...)..., nwrites,
// ('p', key, value | 'd', key)... Checks every read key still has the version seen ("" =
// absent) and every scanned range still holds exactly the keys seen; then applies the writes
// under one new version. Returns 1 when applied (or nothing to apply), 0 on conflict.
inline constexpr const char* kCommit = R"lua(
local a = ARGV
local i = 1
local n = tonumber(a[i]); i = i + 1
for _ = 1, n do
  if redis.call('GETRANGE', 'd' .. a[i], 0, 15) ~= a[i + 1] then return 0 end
  i = i + 2
end
n = tonumber(a[i]); i = i + 1
for _ = 1, n do
  local cnt = tonumber(a[i + 2])
  local ks = redis.call('ZRANGEBYLEX', 'i', a[i], a[i + 1], 'LIMIT', 0, cnt + 1)
  if #ks ~= cnt then return 0 end
  for j = 1, cnt do
    if ks[j] ~= a[i + 2 + j] then return 0 end
  end
  i = i + 3 + cnt
end
n = tonumber(a[i]); i = i + 1
if n == 0 then return 1 end
local ver = string.format('%016x', redis.call('INCR', 'c'))
for _ = 1, n do
  if a[i] == 'p' then
    redis.call('SET', 'd' .. a[i + 1], ver .. a[i + 2])
    redis.call('ZADD', 'i', 0, a[i + 1])
    i = i + 3
  else
    redis.call('DEL', 'd' .. a[i + 1])
    redis.call('ZREM', 'i', a[i + 1])
    i = i + 2
  end
end
return 1
)lua";

// Deletes up to 1000 keys of the index and their values; returns how many.
inline constexpr const char* kClear = R"lua(
local ks = redis.call('ZRANGE', 'i', 0, 999)
for _, k in ipairs(ks) do redis.call('DEL', 'd' .. k) end
if #ks > 0 then redis.call('ZREM', 'i', unpack(ks)) end
return #ks
)lua";

}  // namespace strata::kv::redis_scripts
