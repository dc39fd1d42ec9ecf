// MemoryTier: the in-memory LRU of plain blocks behind BlockCache (block_cache.h).
//
// Thread-safety: all methods may be called concurrently (one mutex; blocks are immutable
// shared buffers, so a hit is returned without copying).
// Errors: none.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace strata::cache {

class MemoryTier {
 public:
  explicit MemoryTier(uint64_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const std::string> Get(const std::string& key);
  // Inserts (or replaces) key, evicting least recently used blocks beyond capacity. A block
  // larger than the capacity is not kept. Returns how many blocks were evicted.
  uint64_t Put(const std::string& key, std::shared_ptr<const std::string> data);
  void Remove(const std::string& key);
  bool Contains(const std::string& key);
  uint64_t bytes() const;

 private:
  struct Entry {
    std::shared_ptr<const std::string> data;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;  // guarded by mu_
  std::list<std::string> lru_;                  // guarded by mu_
  uint64_t bytes_ = 0;                          // guarded by mu_
};

}  // namespace strata::cache
