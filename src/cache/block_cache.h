// BlockCache: the local cache of plain (decoded) blocks, DESIGN.md §7. Two tiers:
//
//   memory  an LRU of recently used blocks, bounded by CacheOptions::memory_size;
//   disk    one directory (CacheOptions::cache_dir) of cache files, bounded by cache_size and
//           by free_space_ratio (never fill the file system past 1 - ratio), evicted in LRU
//           order. Each cache file holds the block followed by an 8-byte trailer
//           (CRC32C of the block, magic); see docs/format/block-layout.md §Cache. Files are
//           written to a temporary name and renamed, so a crash never leaves a half file under
//           a real name. At Open the directory is scanned: the index (key, size, age) is
//           rebuilt from the files found and leftover temporary files are removed.
//
// Get() verifies the checksum of every disk hit: a corrupt or truncated cache file is deleted
// and reported as a miss, so the caller re-fetches from the store; corrupt bytes are never
// returned. A failing cache disk (EIO, ENOSPC, a vanished directory) disables the disk tier
// for the rest of the process (disk_enabled() turns false) and the cache keeps working from
// memory: the cache never makes a read fail.
//
// Disk I/O goes through CacheOptions::env (common/env.h), so the tier runs in memory in tests
// and a failing disk can be simulated with FaultyEnv.
//
// Keys are object-store block keys (see chunk/block_key.h), e.g. "vol/chunks/0/1/1234_0_4096".
// They must be relative paths without "." or ".." segments or empty segments; other keys are
// cached in memory only.
//
// Thread-safety: every method may be called from any thread concurrently. No lock is held
// during disk I/O of one block except the index lock for bookkeeping.
// Errors: Open fails (kInvalidArgument) only for invalid options or when cache_dir cannot be
// created; every other failure is absorbed (miss / tier disabled) and counted in stats().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

// Counters for `strata stats` and tests. Plain snapshot.
struct CacheStats {
  uint64_t memory_hits = 0;
  uint64_t disk_hits = 0;
  uint64_t misses = 0;
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

  // The block cached under `key`, or null on a miss. Memory first, then disk (a disk hit is
  // promoted to memory). Never returns bytes whose checksum failed.
  std::shared_ptr<const std::string> Get(const std::string& key);

  // Caches `data` under `key` in memory and (when enabled) on disk, evicting old blocks to
  // stay within the limits. Blocks larger than a tier's whole capacity skip that tier.
  // Best effort: failures are absorbed (see above).
  void Put(const std::string& key, std::string_view data);
  // Same, without copying when the caller already holds a shared buffer.
  void Put(const std::string& key, std::shared_ptr<const std::string> data);

  // Drops `key` from both tiers (e.g. the block was deleted from the store).
  void Remove(const std::string& key);

  // True when the key is cached in either tier (no checksum check; for tests/warmup).
  bool Contains(const std::string& key);

  // False once the disk tier was disabled by an I/O error, or when there is none.
  bool disk_enabled() const;
  CacheStats stats() const;

 private:
  BlockCache(std::unique_ptr<Env> own_env, std::unique_ptr<MemoryTier> memory,
             std::unique_ptr<DiskTier> disk);

  struct Counters;  // hit/miss counters (atomics)
  std::unique_ptr<Env> own_env_;  // the default PosixEnv; declared first, destroyed last
  std::unique_ptr<MemoryTier> memory_;
  std::unique_ptr<DiskTier> disk_;  // null when there is no disk tier
  std::unique_ptr<Counters> counters_;
};

}  // namespace strata::cache
