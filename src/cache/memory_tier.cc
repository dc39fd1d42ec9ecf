#include "cache/memory_tier.h"

namespace strata::cache {

Result<BlockData> MemoryTier::Get(const std::string& key, uint32_t expected_len) {
  (void)expected_len;  // checked by the chain for every tier
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return Status::NotFound("not in memory");
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.data;
}

Status MemoryTier::Put(const std::string& key, BlockData data) {
  std::lock_guard lock(mu_);
  auto old = map_.find(key);
  if (old != map_.end()) EraseLocked(old);
  if (data->size() > capacity_) return Status::OK();  // declined: larger than the whole tier
  while (bytes_ + data->size() > capacity_ && !lru_.empty()) {
    EraseLocked(map_.find(lru_.back()));
    evictions_++;
  }
  lru_.push_front(key);
  bytes_ += data->size();
  map_.emplace(key, Entry{std::move(data), lru_.begin()});
  return Status::OK();
}

Status MemoryTier::Remove(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) EraseLocked(it);
  return Status::OK();
}

bool MemoryTier::Contains(const std::string& key) {
  std::lock_guard lock(mu_);
  return map_.count(key) > 0;
}

uint64_t MemoryTier::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void MemoryTier::EraseLocked(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.data->size();
  lru_.erase(it->second.lru);
  map_.erase(it);
}

}  // namespace strata::cache
