// BlockStore: reads and writes the blocks of slices: naming (block_key.h), the codec
// (block_codec.h), the block cache (cache/block_cache.h) and the object store, in one place.
// The writer, reader, compactor and deleter all go through it.
//
// Reads look in the cache first, then the object store. A full-block read is verified
// (CRC32C) and put into the cache; a partial read of an uncompressed volume, when the caller
// does not ask for the whole block to be cached, is a ranged GET of just those bytes.
// Concurrent reads of the same missing block share one GET, and a partial read of a block whose
// whole-block GET is under way (readahead) waits for that GET instead of sending its own.
// Prefetch of a block already being fetched returns at once.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors: the store's Status with the key as context (kNotFound when a block that metadata
// references is missing, kUnavailable/kTimeout retryable, kNoSpace, kIOError);
// kCorruption when a stored block fails its checksum or cannot be decoded.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_cache.h"
#include "chunk/block_codec.h"
#include "common/status.h"
#include "object/object_store.h"

namespace strata::chunk {

struct BlockStoreOptions {
  std::string key_prefix;                // "" or ending in '/'; see block_key.h
  uint32_t block_size = 4 << 20;         // from the volume format, 64 KiB .. 16 MiB
  Compression compression = Compression::kNone;  // from the volume format
  bool cache_written_blocks = true;      // put uploaded blocks into the cache (read-after-write)
  // True when a Put without PutOptions::sync may be lost in a power cut (file://: the block is
  // a renamed but unflushed file). Then fsync must make earlier unsynced uploads durable
  // (SyncBlocks, i.e. ObjectStore::Sync) and compaction uploads with sync. False for stores
  // whose every PUT is durable on return (S3 and the like) and for mem://. FromFormat sets
  // it from the URL; the default is the safe one.
  bool puts_need_sync = true;
  Status Validate() const;
};

class BlockStore {
 public:
  // `store` is shared; `cache` may be null (no caching) and, when given, must outlive this.
  BlockStore(std::shared_ptr<object::ObjectStore> store, cache::BlockCache* cache,
             const BlockStoreOptions& options);

  const BlockStoreOptions& options() const { return options_; }
  uint32_t block_size() const { return options_.block_size; }
  object::ObjectStore* store() const { return store_.get(); }
  cache::BlockCache* cache() const { return cache_; }

  // Encodes and stores block `index` of slice `slice_id`. sync: durable against power loss
  // (PutOptions::sync, the fsync level of DESIGN.md §6).
  Status PutBlock(uint64_t slice_id, uint32_t index, std::string_view plain, bool sync);

  // Bytes [off, off+len) of block `index` (plain length block_len) of slice `slice_id`.
  // REQUIRES: off + len <= block_len. fill_cache: fetch and cache the whole block even for a
  // partial read (small reads prefetch their block, DESIGN.md §7).
  Result<std::string> ReadBlock(uint64_t slice_id, uint32_t index, uint32_t block_len,
                                uint32_t off, uint32_t len, bool fill_cache);

  // Fetches the whole block into the cache unless it is there (readahead, warmup).
  Status Prefetch(uint64_t slice_id, uint32_t index, uint32_t block_len);

  // Makes already stored blocks (keys from BlockKey) durable against power loss with one
  // ObjectStore::Sync call: nothing is read or written again (file:// fsyncs each file and
  // its directory). A key that no longer exists is skipped: its slice was deleted meanwhile,
  // so there is nothing to keep (and, as nothing is re-stored, nothing is resurrected).
  // Does nothing when the store needs no such step (!puts_need_sync: every Put is durable).
  // Errors: the store's, with "sync N blocks" as context; the caller retries all the keys.
  Status SyncBlocks(const std::vector<std::string>& keys);

  // Deletes every block of a stored slice of `slice_size` bytes from the store and the cache.
  // Missing blocks are fine (deletion is idempotent, so a crashed deleter can re-run).
  Status DeleteSlice(uint64_t slice_id, uint64_t slice_size);

 private:
  // The whole plain block, from the cache or the store (verified), shared by concurrent
  // callers asking for the same key.
  Result<std::shared_ptr<const std::string>> FetchWhole(const std::string& key, uint32_t len);

  // True while a whole-block GET of `key` is under way (FetchWhole's leader).
  bool InFlight(const std::string& key);

  std::shared_ptr<object::ObjectStore> store_;
  cache::BlockCache* cache_;
  BlockStoreOptions options_;

  struct Inflight;  // one GET shared by concurrent readers of a key
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Inflight>> inflight_;  // guarded by mu_
};

}  // namespace strata::chunk
