// DiskTier: the local-disk tier behind BlockCache (block_cache.h has the contract).
//
// Layout (docs/format/block-layout.md §Cache, version 1): the block for key K lives in
// `{dir}/blocks/K` as `block | u32 crc32c(block) | u32 magic 0x53434331 ("SCC1")`, big-endian.
// Files are written as `{path}.tmp.…` and renamed; leftover `.tmp.` files are deleted when
// the index is rebuilt at open. LRU order is rebuilt from file modification times (oldest
// evicted first) and maintained in memory afterwards.
//
// All file I/O goes through an Env (common/env.h): PosixEnv in production, MemEnv in tests,
// FaultyEnv to make the cache disk fail (ENOSPC, EIO) and check that only the tier goes.
// Temporary names come from Env::TempPathFor, so they contain ".tmp." as above.
//
// Thread-safety: all methods may be called concurrently; the index lock is never held across
// file I/O. Errors: absorbed; the first I/O error other than "file vanished" disables the tier.
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

#include "common/env.h"
#include "common/status.h"

namespace strata::cache {

class DiskTier {
 public:
  // Creates dir/blocks and scans it. kIOError when the directory cannot be created or read.
  // `env` is not owned and must outlive the tier.
  static Result<std::unique_ptr<DiskTier>> Open(Env* env, const std::string& dir,
                                                uint64_t capacity, double free_space_ratio);

  // The verified block, or null (miss, corrupt file dropped, or tier disabled).
  std::shared_ptr<const std::string> Get(const std::string& key);
  // Returns the number of evicted blocks.
  uint64_t Put(const std::string& key, std::string_view data);
  void Remove(const std::string& key);
  bool Contains(const std::string& key);

  bool enabled() const { return enabled_.load(); }
  uint64_t bytes() const;
  uint64_t blocks() const;
  uint64_t corrupt_dropped() const { return corrupt_.load(); }
  uint64_t errors() const { return errors_.load(); }

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
  // Unlinks evicted files (a file already gone is fine; other errors disable the tier).
  void RemoveFiles(const std::vector<std::string>& paths);
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }
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
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;  // guarded by mu_
  std::list<std::string> lru_;                    // guarded by mu_
  uint64_t bytes_ = 0;                            // guarded by mu_
};

}  // namespace strata::cache
