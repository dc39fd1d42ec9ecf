// MemoryTier: the in-memory LRU of plain blocks, the first tier of the chain (block_tier.h),
// bounded by its capacity in bytes (CacheOptions::memory_size). Owned by BlockCache.
//
// Thread-safety: all methods may be called concurrently (one mutex; blocks are immutable
// shared buffers, so a hit is returned without copying).
// Errors: none; Get's kNotFound is a miss.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cache/block_tier.h"

namespace strata::cache {

class MemoryTier : public BlockTier {
 public:
  explicit MemoryTier(uint64_t capacity) : capacity_(capacity) {}

  std::string_view Name() const override { return "memory"; }
  // The block held under key (its length is not checked here: the chain checks it).
  Result<BlockData> Get(const std::string& key, uint32_t expected_len) override;
  bool WantsFill() const override { return capacity_ > 0; }
  // Inserts (or replaces) key, evicting least recently used blocks beyond capacity. A block
  // larger than the capacity is not kept.
  Status Put(const std::string& key, BlockData data) override;
  bool Contains(const std::string& key) override;
  Status Remove(const std::string& key) override;

  uint64_t bytes() const;
  uint64_t evictions() const { return evictions_.load(); }

 private:
  struct Entry {
    BlockData data;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  const uint64_t capacity_;
  std::atomic<uint64_t> evictions_{0};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;  // guarded by mu_
  std::list<std::string> lru_;                  // guarded by mu_
  uint64_t bytes_ = 0;                          // guarded by mu_
};

}  // namespace strata::cache
