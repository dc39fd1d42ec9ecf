// BlockStore: the blocks of slices as the writer, reader, compactor and deleter see them:
// naming (block_key.h) over the chain of block tiers (cache/tier_chain.h), in one place.
//
// Reads go down the chain — memory → disk → [staging] → [peer] → object store — which
// verifies, fills the faster tiers and shares one fetch among concurrent readers of a block
// (a partial read joins a whole-block fetch under way, e.g. a readahead). A partial read of
// an uncompressed volume, when the caller does not ask for the whole block to be cached, is a
// ranged GET of just those bytes (the store tier serves ranges; store_tier.h). Writes go to
// the chain's write target (the store tier today; writeback's staging tier later) and, with
// cache_written_blocks, into the caches (read-after-write). Prefetch of a block already cached
// or being fetched returns at once.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors: the chain's (tier_chain.h): kNotFound "block KEY is in no tier" when a block that
// metadata references is missing, the store's Status with the key as context
// (kUnavailable/kTimeout retryable, kNoSpace, kIOError), kCorruption when a stored block
// fails its checksum or cannot be decoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cache/tier_chain.h"
#include "chunk/block_codec.h"
#include "common/status.h"

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
  // `tiers` is not owned and must outlive this; its last tier decodes with options.compression
  // (ChunkStore builds both).
  BlockStore(cache::TierChain* tiers, const BlockStoreOptions& options)
      : tiers_(tiers), options_(options) {}

  const BlockStoreOptions& options() const { return options_; }
  uint32_t block_size() const { return options_.block_size; }
  // True when some tier caches blocks (readahead and small-read prefetch have somewhere to go).
  bool caches() const { return tiers_->caches(); }

  // Stores block `index` of slice `slice_id` at the write target. sync: durable against power
  // loss (PutOptions::sync, the fsync level of DESIGN.md §6).
  // origin: the file and chunk the slice is written for (recorded by writeback staging).
  Status PutBlock(uint64_t slice_id, uint32_t index, std::string_view plain, bool sync,
                  const cache::BlockOrigin& origin = {});
  // The same with the block in a shared buffer (not null, never changed again): the caches
  // keep references to it instead of copies (the writer's blocks).
  Status PutBlock(uint64_t slice_id, uint32_t index, const cache::BlockData& data, bool sync,
                  const cache::BlockOrigin& origin = {});

  // Bytes [off, off+len) of block `index` (plain length block_len) of slice `slice_id`.
  // REQUIRES: off + len <= block_len. fill_cache: fetch and cache the whole block even for a
  // partial read (small reads prefetch their block, DESIGN.md §7).
  Result<std::string> ReadBlock(uint64_t slice_id, uint32_t index, uint32_t block_len,
                                uint32_t off, uint32_t len, bool fill_cache);
  // The same without a copy: the bytes are [part.off, part.off + len) of part.data (the
  // cached block itself for a whole-block fetch; a buffer of just the range for a ranged
  // GET, off 0).
  struct Part {
    cache::BlockData data;
    uint32_t off = 0;
  };
  Result<Part> ReadBlockPart(uint64_t slice_id, uint32_t index, uint32_t block_len, uint32_t off,
                             uint32_t len, bool fill_cache);

  // Fetches the whole block into the caches unless it is there (readahead, warmup).
  Status Prefetch(uint64_t slice_id, uint32_t index, uint32_t block_len);
  // The same for a block a sequential reader is about to read: one the disk cache holds is
  // also read into the memory cache (TierChain::ReadAhead).
  Status ReadAhead(uint64_t slice_id, uint32_t index, uint32_t block_len);

  // Makes already stored blocks (keys from BlockKey) durable against power loss with one
  // Sync of the write target (ObjectStore::Sync): nothing is read or written again (file://
  // fsyncs each file and its directory). A key that no longer exists is skipped: its slice
  // was deleted meanwhile, so there is nothing to keep (and, as nothing is re-stored, nothing
  // is resurrected). Does nothing when the store needs no such step (!puts_need_sync: every
  // Put is durable). Errors: the store's, with "sync N blocks" as context; the caller retries
  // all the keys.
  Status SyncBlocks(const std::vector<std::string>& keys);

  // Deletes every block of a stored slice of `slice_size` bytes from every tier (caches first,
  // the store last). Missing blocks are fine (deletion is idempotent, so a crashed deleter can
  // re-run).
  Status DeleteSlice(uint64_t slice_id, uint64_t slice_size);

 private:
  cache::TierChain* const tiers_;
  const BlockStoreOptions options_;
};

}  // namespace strata::chunk
