#include "cache/block_cache.h"

#include <atomic>

#include "cache/disk_tier.h"
#include "cache/memory_tier.h"
#include "common/posix_env.h"

namespace strata::cache {

Status CacheOptions::Validate() const {
  if (!(free_space_ratio >= 0 && free_space_ratio < 1)) {
    return Status::InvalidArgument("free_space_ratio must be in [0, 1)");
  }
  if (!cache_dir.empty() && cache_size == 0) {
    return Status::InvalidArgument("cache_size must be positive when cache_dir is set");
  }
  return Status::OK();
}

struct BlockCache::Counters {
  std::atomic<uint64_t> memory_hits{0}, disk_hits{0}, misses{0}, evictions{0};
};

Result<std::unique_ptr<BlockCache>> BlockCache::Open(const CacheOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Env> own_env;
  std::unique_ptr<DiskTier> disk;
  if (!options.cache_dir.empty()) {
    Env* env = options.env;
    if (!env) {
      own_env = std::make_unique<PosixEnv>();
      env = own_env.get();
    }
    auto tier =
        DiskTier::Open(env, options.cache_dir, options.cache_size, options.free_space_ratio);
    if (!tier.ok()) return Status::InvalidArgument(tier.status().message());
    disk = std::move(*tier);
  }
  return std::unique_ptr<BlockCache>(new BlockCache(
      std::move(own_env), std::make_unique<MemoryTier>(options.memory_size), std::move(disk)));
}

BlockCache::BlockCache(std::unique_ptr<Env> own_env, std::unique_ptr<MemoryTier> memory,
                       std::unique_ptr<DiskTier> disk)
    : own_env_(std::move(own_env)),
      memory_(std::move(memory)),
      disk_(std::move(disk)),
      counters_(new Counters) {}

BlockCache::~BlockCache() = default;

std::shared_ptr<const std::string> BlockCache::Get(const std::string& key) {
  if (auto hit = memory_->Get(key)) {
    counters_->memory_hits++;
    return hit;
  }
  if (disk_) {
    if (auto hit = disk_->Get(key)) {
      counters_->disk_hits++;
      counters_->evictions += memory_->Put(key, hit);
      return hit;
    }
  }
  counters_->misses++;
  return nullptr;
}

void BlockCache::Put(const std::string& key, std::string_view data) {
  Put(key, std::make_shared<const std::string>(data));
}

void BlockCache::Put(const std::string& key, std::shared_ptr<const std::string> data) {
  if (disk_) counters_->evictions += disk_->Put(key, *data);
  counters_->evictions += memory_->Put(key, std::move(data));
}

void BlockCache::Remove(const std::string& key) {
  memory_->Remove(key);
  if (disk_) disk_->Remove(key);
}

bool BlockCache::Contains(const std::string& key) {
  return memory_->Contains(key) || (disk_ && disk_->Contains(key));
}

bool BlockCache::disk_enabled() const { return disk_ && disk_->enabled(); }

CacheStats BlockCache::stats() const {
  CacheStats s;
  s.memory_hits = counters_->memory_hits;
  s.disk_hits = counters_->disk_hits;
  s.misses = counters_->misses;
  s.evictions = counters_->evictions;
  s.memory_bytes = memory_->bytes();
  if (disk_) {
    s.corrupt_dropped = disk_->corrupt_dropped();
    s.disk_errors = disk_->errors();
    s.disk_bytes = disk_->bytes();
    s.disk_blocks = disk_->blocks();
  }
  return s;
}

}  // namespace strata::cache
