// BlockCache: the local cache of plain (decoded) blocks, DESIGN.md §7 — the owner of its two
// tiers, built from CacheOptions:
//
//   memory  an LRU of recently used blocks, bounded by CacheOptions::memory_size
//           (memory_tier.h); absent when memory_size is 0;
//   disk    one directory (CacheOptions::cache_dir) of checksummed cache files, bounded by
//           cache_size and free_space_ratio (disk_tier.h); absent when cache_dir is "".
//
// Lookups do not go through BlockCache: its tiers() are the head of a TierChain
// (tier_chain.h), which asks them in order, fills them from later tiers, promotes a disk hit
// into memory and counts hits and misses per tier. BlockCache stays as the pair, rather than
// each tier being built where the chain is, because it is the one place that turns
// CacheOptions into tiers (validation, the default PosixEnv it owns, a cache directory that
// cannot be opened) and that reports what the local cache holds (stats()).
//
// Disk I/O goes through CacheOptions::env (common/env.h), so the disk tier runs in memory in
// tests and a failing disk can be simulated with FaultyEnv. A failing cache disk disables the
// disk tier (disk_enabled() turns false) and the cache keeps working from memory.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors: Open fails (kInvalidArgument) only for invalid options or when cache_dir cannot be
// created or scanned; tier errors are the tiers' (block_tier.h) and counted in stats().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/block_tier.h"
#include "common/env.h"
#include "common/status.h"

namespace strata::cache {

struct CacheOptions {
  uint64_t memory_size = 256ULL << 20;  // memory tier bytes (default 256 MiB; 0 disables it)
  std::string cache_dir;                // disk tier directory; "" = no disk tier (default)
  uint64_t cache_size = 1ULL << 30;     // disk tier bytes (default 1 GiB; --cache-size)
  double free_space_ratio = 0.1;        // keep this fraction of the cache file system free
  // The disk tier's file I/O (not owned; must outlive the cache). nullptr (default): a
  // PosixEnv owned by the cache. Tests pass a MemEnv, or a FaultyEnv to fail the disk.
  Env* env = nullptr;
  // kInvalidArgument naming the bad field (ratio outside [0, 1), ...).
  Status Validate() const;
};

// What the local cache holds, for `strata stats` and tests. Plain snapshot. Hits and misses
// are counted per tier by the chain (TierChain::stats()).
struct CacheStats {
  uint64_t corrupt_dropped = 0;   // disk files failing their checksum, deleted
  uint64_t disk_errors = 0;       // I/O errors that disabled the disk tier
  uint64_t memory_bytes = 0;      // currently held in memory
  uint64_t disk_bytes = 0;        // currently held on disk (block bytes, trailers excluded)
  uint64_t disk_blocks = 0;       // number of cache files indexed
  uint64_t evictions = 0;         // blocks evicted from either tier
};

class DiskTier;    // disk_tier.h
class MemoryTier;  // memory_tier.h

class BlockCache {
 public:
  // Creates cache_dir when missing and rebuilds the disk index by scanning it.
  static Result<std::unique_ptr<BlockCache>> Open(const CacheOptions& options);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // The tiers that exist, fastest first (memory, then disk), to head a TierChain. The
  // pointers live as long as this cache.
  std::vector<BlockTier*> tiers() const;
  // Null when that tier is absent.
  MemoryTier* memory() const;
  DiskTier* disk() const;

  // False once the disk tier was disabled by an I/O error, or when there is none.
  bool disk_enabled() const;
  CacheStats stats() const;

 private:
  BlockCache(std::unique_ptr<Env> own_env, std::unique_ptr<MemoryTier> memory,
             std::unique_ptr<DiskTier> disk);

  std::unique_ptr<Env> own_env_;  // the default PosixEnv; declared first, destroyed last
  std::unique_ptr<MemoryTier> memory_;  // null when memory_size is 0
  std::unique_ptr<DiskTier> disk_;      // null when there is no disk tier
};

}  // namespace strata::cache
