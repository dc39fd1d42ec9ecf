// DiskTier: the local-disk tier of the chain (block_tier.h), DESIGN.md §7: one directory of
// cache files bounded by `capacity` bytes and by `free_space_ratio` (never fill the file
// system past 1 - ratio), evicted in LRU order. Owned by BlockCache (block_cache.h).
//
// Layout (docs/format/block-layout.md §Cache, version 1): the block for key K lives in
// `{dir}/blocks/K` as `block | u32 crc32c(block) | u32 magic 0x53434331 ("SCC1")`, big-endian.
// Files are written as `{path}.tmp.…` and renamed; leftover `.tmp.` files are deleted when
// the index is rebuilt at open. LRU order is rebuilt from file modification times (oldest
// evicted first) and maintained in memory afterwards.
//
// Keys must be relative paths without "." or ".." segments or empty segments (ValidKey);
// Put declines other keys (they are cached in memory only).
//
// All file I/O goes through an Env (common/env.h): PosixEnv in production, MemEnv in tests,
// FaultyEnv to make the cache disk fail (ENOSPC, EIO) and check that only the tier goes.
// Temporary names come from Env::TempPathFor, so they contain ".tmp." as above.
//
// Thread-safety: all methods may be called concurrently; the index lock is never held across
// file I/O.
// Errors: Get verifies the checksum of every hit: a corrupt or truncated file is deleted and
// reported as kCorruption (its bytes are never returned; the chain fetches the block from a
// later tier). The first I/O error other than "file vanished" (EIO, ENOSPC, a vanished
// directory) disables the tier for the rest of the process: it is logged, returned by the
// call that met it, and from then on Get misses and Put declines without touching the disk,
// so a failing cache disk never makes a read fail.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/block_tier.h"
#include "common/env.h"
#include "common/status.h"

namespace strata::cache {

class DiskTier : public BlockTier {
 public:
  // Creates dir/blocks and scans it. kIOError when the directory cannot be created or read.
  // `env` is not owned and must outlive the tier.
  static Result<std::unique_ptr<DiskTier>> Open(Env* env, const std::string& dir,
                                                uint64_t capacity, double free_space_ratio);

  std::string_view Name() const override { return "disk"; }
  // The verified block; kNotFound when not cached (or the tier is disabled), kCorruption when
  // the file failed its checksum (deleted), kIOError when reading failed (tier now disabled).
  // The length is checked by the chain.
  Result<BlockData> Get(const std::string& key, uint32_t expected_len) override;
  // The cache file, for a peer to be sent it as it is (block_tier.h StoredBlock): its size is
  // checked against `len` and its trailer's magic, and the trailer's CRC returned unverified
  // (the receiver verifies it: one pass over the block in all). Counts as a use for the LRU.
  // kNotFound when not cached, kCorruption (file deleted) when the size or magic is wrong.
  Result<StoredBlock> OpenStored(const std::string& key, uint32_t len) override;
  // False once the tier is disabled: it takes no more fills.
  bool WantsFill() const override { return enabled(); }
  // Writes the cache file unless the key is cached already, evicting to stay within the
  // limits. Declines (OK) a block larger than the tier, an unsuitable key, a disabled tier,
  // or a block the free-space ratio does not allow; a write error disables the tier and is
  // returned.
  Status Put(const std::string& key, BlockData data) override;
  bool Contains(const std::string& key) override;
  Status Remove(const std::string& key) override;

  bool enabled() const { return enabled_.load(); }
  uint64_t bytes() const;
  uint64_t blocks() const;
  uint64_t corrupt_dropped() const { return corrupt_.load(); }
  uint64_t errors() const { return errors_.load(); }
  uint64_t evictions() const { return evictions_.load(); }

  // True when `key` can name a cache file (relative, no empty/"."/".." segments).
  static bool ValidKey(std::string_view key);

 private:
  DiskTier(Env* env, std::string root, uint64_t capacity, double ratio)
      : env_(env), root_(std::move(root)), capacity_(capacity), ratio_(ratio) {}
  Status Scan();
  // Adds the files below root_/rel (recursively) to `found`; removes leftover temporaries.
  struct Found {
    std::string key;
    uint64_t size;
    int64_t mtime_ns;
  };
  Status ScanDir(const std::string& rel, std::vector<Found>* found);
  // Writes the cache file for key through a temporary name. REQUIRES: ValidKey(key).
  Status WriteFile(const std::string& key, std::string_view data);
  // The whole cache file at `path` (kNotFound when it vanished).
  Result<BlockBuffer> ReadCacheFile(const std::string& path);
  // Whether `key` is indexed; if so, marks it most recently used.
  bool Touch(const std::string& key);
  // Unlinks evicted files (a file already gone is fine; other errors disable the tier).
  void RemoveFiles(const std::vector<std::string>& paths);
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }
  // Turns the tier off for good, counting and logging the error (once).
  void Disable(const Status& why);
  // Removes LRU entries until `incoming` more bytes fit; returns the paths to unlink.
  std::vector<std::string> MakeRoomLocked(uint64_t incoming);
  bool FreeSpaceAllows(uint64_t incoming) const;

  struct Entry {
    uint64_t size;                         // block bytes (trailer excluded)
    std::list<std::string>::iterator lru;  // front = most recent
  };

  Env* const env_;
  const std::string root_;  // {dir}/blocks
  const uint64_t capacity_;
  const double ratio_;
  std::atomic<bool> enabled_{true};
  std::atomic<uint64_t> corrupt_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> evictions_{0};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;  // guarded by mu_
  std::list<std::string> lru_;                    // guarded by mu_
  uint64_t bytes_ = 0;                            // guarded by mu_
};

}  // namespace strata::cache
