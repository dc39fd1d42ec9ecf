#include "cache/block_cache.h"

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
  std::unique_ptr<MemoryTier> memory;
  if (options.memory_size > 0) memory = std::make_unique<MemoryTier>(options.memory_size);
  return std::unique_ptr<BlockCache>(
      new BlockCache(std::move(own_env), std::move(memory), std::move(disk)));
}

BlockCache::BlockCache(std::unique_ptr<Env> own_env, std::unique_ptr<MemoryTier> memory,
                       std::unique_ptr<DiskTier> disk)
    : own_env_(std::move(own_env)), memory_(std::move(memory)), disk_(std::move(disk)) {}

BlockCache::~BlockCache() = default;

std::vector<BlockTier*> BlockCache::tiers() const {
  std::vector<BlockTier*> out;
  if (memory_) out.push_back(memory_.get());
  if (disk_) out.push_back(disk_.get());
  return out;
}

MemoryTier* BlockCache::memory() const { return memory_.get(); }
DiskTier* BlockCache::disk() const { return disk_.get(); }

bool BlockCache::disk_enabled() const { return disk_ && disk_->enabled(); }

CacheStats BlockCache::stats() const {
  CacheStats s;
  if (memory_) {
    s.memory_bytes = memory_->bytes();
    s.evictions += memory_->evictions();
  }
  if (disk_) {
    s.corrupt_dropped = disk_->corrupt_dropped();
    s.disk_errors = disk_->errors();
    s.disk_bytes = disk_->bytes();
    s.disk_blocks = disk_->blocks();
    s.evictions += disk_->evictions();
  }
  return s;
}

}  // namespace strata::cache
