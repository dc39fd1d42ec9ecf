#include "cache/local_owner.h"

#include "common/crc32c.h"

namespace strata::cache {

Result<std::unique_ptr<LocalOwner>> LocalOwner::Open(std::vector<BlockTier*> local,
                                                     BlockTier* store, KeyCheck valid) {
  std::unique_ptr<LocalOwner> o(new LocalOwner());
  o->local_ = local;
  o->valid_ = std::move(valid);
  TierChainOptions co;
  co.tiers = std::move(local);
  co.tiers.push_back(store);
  co.write_target = store;
  ASSIGN_OR_RETURN(o->chain_, TierChain::Open(co));
  return o;
}

Result<BlockData> LocalOwner::Fetch(const std::string& key, uint32_t len) {
  return chain_->Get(key, len);
}

Result<ServedBlock> LocalOwner::Serve(const std::string& key, uint32_t len) {
  for (BlockTier* t : local_) {
    if (!t->Contains(key)) continue;
    auto stored = t->OpenStored(key, len);
    if (stored.ok()) {
      ServedBlock b;
      b.stored = std::move(*stored);
      return b;
    }
    if (!stored.status().Is(Code::kNotSupported)) continue;  // gone or bad: the next tier
    auto data = t->Get(key, len);
    if (data.ok() && (*data)->size() == len) {
      return ServedBlock{*data, StoredBlock{nullptr, Crc32c(**data)}};
    }
  }
  ASSIGN_OR_RETURN(BlockData data, chain_->Get(key, len));  // the store, single flight
  return ServedBlock{data, StoredBlock{nullptr, Crc32c(*data)}};
}

bool LocalOwner::Cached(const std::string& key) {
  for (BlockTier* t : local_) {
    if (t->Contains(key)) return true;
  }
  return false;
}

Status LocalOwner::Fill(const std::string& key, BlockData data) {
  Status first;
  for (BlockTier* t : local_) {
    if (!t->WantsFill()) continue;
    Status s = t->Put(key, data);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status LocalOwner::Evict(const std::string& key) {
  Status first;
  for (BlockTier* t : local_) {
    Status s = t->Remove(key);
    if (!s.ok() && !s.Is(Code::kNotFound) && first.ok()) first = s;
  }
  return first;
}

}  // namespace strata::cache
