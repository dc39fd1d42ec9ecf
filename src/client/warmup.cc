#include "client/warmup.h"

#include <set>

#include "chunk/block_key.h"
#include "chunk/chunk_store.h"
#include "meta/meta.h"
#include "meta/slices.h"

namespace strata::client {
namespace {

struct BlockRef {
  std::string key;
  uint32_t len = 0;
  bool operator<(const BlockRef& o) const { return key < o.key; }
};

// The blocks the visible segments of the chunk read from.
Result<std::set<BlockRef>> ChunkBlocks(Client& client, uint64_t ino, uint32_t chunk) {
  chunk::ChunkStore* cs = client.volume().chunk_store();
  const std::string& prefix = cs->blocks()->options().key_prefix;
  const uint32_t bs = cs->blocks()->block_size();
  ASSIGN_OR_RETURN(auto slices, client.volume().meta()->ReadChunk(ino, chunk));
  std::set<BlockRef> out;
  for (const meta::Segment& seg : meta::ResolveSlices(slices)) {
    if (seg.id == 0 || seg.len == 0) continue;
    const uint32_t first = seg.off / bs;
    const uint32_t last = (seg.off + seg.len - 1) / bs;
    for (uint32_t i = first; i <= last; ++i) {
      const uint32_t len = chunk::BlockLen(seg.size, bs, i);
      out.insert({chunk::BlockKey(prefix, seg.id, i, len), len});
    }
  }
  return out;
}

bool LocallyCached(chunk::ChunkStore& cs, const std::string& key) {
  for (cache::BlockTier* t : cs.cache()->tiers()) {
    if (t->Contains(key)) return true;
  }
  return false;
}

}  // namespace

Result<WarmMode> ParseWarmMode(const std::string& text) {
  if (text == "fill") return WarmMode::kFill;
  if (text == "check") return WarmMode::kCheck;
  if (text == "evict") return WarmMode::kEvict;
  return Status::InvalidArgument("warmup mode must be fill, check or evict, not '" + text + "'");
}

Result<WarmResult> WarmChunk(Client& client, uint64_t ino, uint32_t chunk, WarmMode mode) {
  ASSIGN_OR_RETURN(meta::Attr attr, client.volume().meta()->GetAttr(ino));
  if (attr.type != meta::FileType::kRegular) {
    return Status::InvalidArgument("inode " + std::to_string(ino) + " is not a regular file");
  }
  ASSIGN_OR_RETURN(auto blocks, ChunkBlocks(client, ino, chunk));
  chunk::ChunkStore& cs = *client.volume().chunk_store();
  cache::PeerTier* group = client.group() ? client.group()->tier() : nullptr;
  WarmResult r;
  for (const BlockRef& b : blocks) {
    r.blocks++;
    r.bytes += b.len;
    Status s;
    bool had = false;
    switch (mode) {
      case WarmMode::kFill:
        if (group) {
          auto w = group->Warm(b.key, b.len);
          s = w.status();
          had = w.ok() && *w;
        } else {
          had = LocallyCached(cs, b.key);
          if (!had) s = cs.tiers()->Prefetch(b.key, b.len);
        }
        break;
      case WarmMode::kCheck:
        if (group) {
          auto c = group->Cached(b.key, b.len);
          s = c.status();
          had = c.ok() && *c;
        } else {
          had = LocallyCached(cs, b.key);
        }
        break;
      case WarmMode::kEvict:
        had = group ? true : LocallyCached(cs, b.key);
        if (group) {
          s = group->Evict(b.key, b.len);
        }
        // The local copies go too (a member also keeps what it read), never the store's.
        for (cache::BlockTier* t : cs.cache()->tiers()) {
          Status e = t->Remove(b.key);
          if (s.ok() && !e.ok() && !e.Is(Code::kNotFound)) s = e;
        }
        break;
    }
    if (!s.ok()) {
      r.failed++;
      if (r.error.empty()) r.error = s.ToString();
      continue;
    }
    if (had) {
      r.cached_blocks++;
      r.cached_bytes += b.len;
    }
  }
  return r;
}

}  // namespace strata::client
