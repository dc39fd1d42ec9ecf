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

// ARGV: nparts, then per part: nkeys, (key, version)..., nranges, (min, max, count, key...)...,
// nwrites, ('p', key, value | 'd', key | 'a', key, erase, nfields, delta...)... Each part is
// one transaction's commit (group commit: several transactions in one call). For each part
// in order: checks every read key still has the version seen ("" = absent) and every scanned
// range still holds exactly the keys seen; if so applies its writes under one new version
// ('a': adds each delta to the 8-byte big-endian signed field of the stored value, zeros when
// absent or of another size; with erase 1 an all-zero result deletes the key). A part's
// checks see the writes of the parts before it. Returns one entry per part: the new version
// (16 hex digits) when its writes were applied, 1 when it had nothing to apply and its checks
// held, 0 on conflict (nothing of that part applied).
inline constexpr const char* kCommit = R"lua(
local a = ARGV
local function skip_writes(i, n)
  for _ = 1, n do
    if a[i] == 'p' then i = i + 3
    elseif a[i] == 'd' then i = i + 2
    else i = i + 4 + tonumber(a[i + 3]) end
  end
  return i
end
local function apply(i, n)
  local ver = string.format('%016x', redis.call('INCR', 'c'))
  local applied = ver
  for _ = 1, n do
    local op, k = a[i], a[i + 1]
    if op == 'p' then
      redis.call('SET', 'd' .. k, ver .. a[i + 2])
      redis.call('ZADD', 'i', 0, k)
      i = i + 3
    elseif op == 'd' then
      redis.call('DEL', 'd' .. k)
      redis.call('ZREM', 'i', k)
      i = i + 2
    else
      local nf = tonumber(a[i + 3])
      local cur = redis.call('GET', 'd' .. k)
      local ok = cur and #cur == 16 + 8 * nf
      local out, zero = {}, true
      for f = 1, nf do
        local v = 0
        if ok then v = struct.unpack('>i8', cur, 17 + 8 * (f - 1)) end
        v = v + tonumber(a[i + 3 + f])
        if v ~= 0 then zero = false end
        out[f] = struct.pack('>i8', v)
      end
      if zero and a[i + 2] == '1' then
        redis.call('DEL', 'd' .. k)
        redis.call('ZREM', 'i', k)
      else
        redis.call('SET', 'd' .. k, ver .. table.concat(out))
        redis.call('ZADD', 'i', 0, k)
      end
      i = i + 4 + nf
    end
  end
  return applied
end
local results = {}
local i = 2
for p = 1, tonumber(a[1]) do
  local ok = true
  local n = tonumber(a[i]); i = i + 1
  for _ = 1, n do
    if ok and redis.call('GETRANGE', 'd' .. a[i], 0, 15) ~= a[i + 1] then ok = false end
    i = i + 2
  end
  n = tonumber(a[i]); i = i + 1
  for _ = 1, n do
    local cnt = tonumber(a[i + 2])
    if ok then
      local ks = redis.call('ZRANGEBYLEX', 'i', a[i], a[i + 1], 'LIMIT', 0, cnt + 1)
      if #ks ~= cnt then
        ok = false
      else
        for j = 1, cnt do
          if ks[j] ~= a[i + 2 + j] then ok = false; break end
        end
      end
    end
    i = i + 3 + cnt
  end
  n = tonumber(a[i]); i = i + 1
  local ver = nil
  if ok and n > 0 then ver = apply(i, n) end
  i = skip_writes(i, n)
  if ver then results[p] = ver elseif ok then results[p] = 1 else results[p] = 0 end
end
return results
)lua";

// Deletes up to 1000 keys of the index and their values; returns how many.
inline constexpr const char* kClear = R"lua(
local ks = redis.call('ZRANGE', 'i', 0, 999)
for _, k in ipairs(ks) do redis.call('DEL', 'd' .. k) end
if #ks > 0 then redis.call('ZREM', 'i', unpack(ks)) end
return #ks
)lua";

}  // namespace strata::kv::redis_scripts
