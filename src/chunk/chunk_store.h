// ChunkStore: the data path of one client as ONE object — what the VFS uses for file data.
// It owns the block tiers (the local cache's memory and disk tiers, the store tier) and their
// chain, the BlockStore, the DataWriter, the DataReader, the Compactor and the Deleter, wired
// together (commits invalidate the reader's segment cache; reads see pending writes;
// fragmented chunks get compacted; unreferenced blocks get deleted). The chain is
// memory → disk → store, with the store tier as the write target; with writeback it is
// memory → disk → staging → store, the staging tier being the write target (leftovers of an
// earlier process are sorted out at Open: staging_recovery.h); a cache group member asks its
// peers after its own tiers: memory → disk → [staging] → [cache group peer] → store.
//
// How the VFS uses it (DESIGN.md §6, §7):
//   open()            InvalidateFile(ino) (close-to-open: see other mounts' commits);
//                     OpenErrorCursor(ino), kept in the file handle (errseq, writer.h).
//   write()           Write(ino, off, data, &cursor).
//   read()            Read(ino, off, size, attr.length, &handle_read_state): sees this
//                     mount's buffered writes (read-your-writes) and extends `length` to
//                     PendingEnd(ino) itself.
//   getattr()         length = max(meta length, PendingEnd(ino)).
//   flush()           Flush(ino, &cursor) -> error maps to EIO/ENOSPC/EDQUOT via ToErrno.
//   release()         Drain(ino) if writes are pending, then CloseErrorCursor(ino).
//   fsync()           Fsync(ino, &cursor): everything Flush does, plus every block of the file
//                     committed since this client started (or since its last fsync) made
//                     durable against power loss, then the metadata engine synced (writer.h).
//   truncate/fallocate/copy_file_range on ino (and on the destination):
//                     Drain(ino) first, then the Meta call, then InvalidateFile(ino).
//   unmount           FlushAll(), then destroy.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors: see writer.h and reader.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/block_cache.h"
#include "cache/staging_tier.h"
#include "cache/tier_chain.h"
#include "chunk/block_store.h"
#include "chunk/compactor.h"
#include "chunk/deleter.h"
#include "chunk/reader.h"
#include "chunk/staging_recovery.h"
#include "chunk/store_tier.h"
#include "chunk/writer.h"
#include "common/status.h"
#include "meta/format.h"
#include "meta/slice_log.h"
#include "object/object_store.h"

namespace strata::chunk {

struct ChunkOptions {
  BlockStoreOptions blocks;    // key prefix, block size, compression (FromFormat fills them)
  WriterOptions writer;
  ReaderOptions reader;
  cache::CacheOptions cache;   // --cache-dir, --cache-size, --free-space-ratio
  // --writeback: blocks are staged on local disk and uploaded in the background
  // (cache/staging_tier.h); the staging tier joins the chain before the store tier as its
  // write target. staging.env null: a PosixEnv owned by the ChunkStore; staging.clock null:
  // SystemClock. Default off.
  bool writeback = false;
  cache::StagingOptions staging;
  bool background_jobs = true; // run the deleter in the background (and auto-compaction)
  // The cache group's peer tier (cache/peer_tier.h), asked after the local cache and before
  // the store; not owned, must outlive the ChunkStore. Null (default): no group.
  cache::BlockTier* group_tier = nullptr;
  // Blocks read from the store are also written into the disk cache. FromFormat turns it off
  // for a file:// store (a local directory reads as fast as the cache, and the fill wrote
  // each cold block a second time to the same disk); kept whenever there is a group_tier
  // (members serve each other from their disk caches). The memory cache is always filled.
  bool disk_fills_from_store = true;
  int deleter_interval_ms = 10000;

  // Options for a volume: blocks.key_prefix = format.name + "/", block size and compression
  // from the format; everything else at its default. kInvalidArgument for an unknown codec.
  static Result<ChunkOptions> FromFormat(const meta::VolumeFormat& format);
  Status Validate() const;
};

class ChunkStore {
 public:
  // `meta` is not owned and must outlive the ChunkStore; `store` is shared. The store is the
  // bucket/directory root when blocks.key_prefix is "NAME/" (see block_key.h).
  static Result<std::unique_ptr<ChunkStore>> Open(meta::SliceLog* meta,
                                                  std::shared_ptr<object::ObjectStore> store,
                                                  const ChunkOptions& options);
  // Flushes (dropping errors deliberately; call FlushAll first to see them) and stops. When
  // background jobs run, it first deletes the blocks still pending deletion (bounded: 10 s).
  ~ChunkStore();
  ChunkStore(const ChunkStore&) = delete;
  ChunkStore& operator=(const ChunkStore&) = delete;

  Status Write(meta::Ino ino, uint64_t offset, std::string_view data,
               const ErrorCursor* since = nullptr) {
    return writer_->Write(ino, offset, data, since);
  }
  // Committed data overlaid with this client's pending writes. `length` is the file length
  // the caller knows (meta attr); it is raised to PendingEnd(ino). state may be null.
  Result<std::string> Read(meta::Ino ino, uint64_t offset, size_t size, uint64_t length,
                           ReadState* state);
  // The same as pieces of the cached blocks (reader.h ReadInto): no copy of committed bytes.
  Status ReadInto(meta::Ino ino, uint64_t offset, size_t size, uint64_t length,
                  ReadState* state, ReadBuffer* out);
  Status Flush(meta::Ino ino) { return writer_->Flush(ino); }
  Status Fsync(meta::Ino ino) { return writer_->Fsync(ino); }
  // The error-sequence calls of writer.h ("Write errors"), for open file descriptions.
  Status Flush(meta::Ino ino, ErrorCursor* cursor) { return writer_->Flush(ino, cursor); }
  Status Fsync(meta::Ino ino, ErrorCursor* cursor) { return writer_->Fsync(ino, cursor); }
  void Drain(meta::Ino ino) { writer_->Drain(ino); }
  ErrorCursor OpenErrorCursor(meta::Ino ino) { return writer_->OpenErrorCursor(ino); }
  void CloseErrorCursor(meta::Ino ino) { writer_->CloseErrorCursor(ino); }
  Status FlushAll() { return writer_->FlushAll(); }
  uint64_t PendingEnd(meta::Ino ino) const { return writer_->PendingEnd(ino); }
  void InvalidateFile(meta::Ino ino) { reader_->InvalidateFile(ino); }

  // strata compact: compacts every chunk of a file of `length` bytes now.
  Status CompactFile(meta::Ino ino, uint64_t length) { return compactor_->CompactFile(ino, length); }
  // One deleter pass now (tests, `strata gc`); returns slices deleted.
  Result<int> CollectGarbage(int limit = 1000) { return deleter_->RunOnce(limit); }

  // The local cache (its occupancy: stats()) and the chain (hits/misses per tier: stats()).
  cache::BlockCache* cache() { return cache_.get(); }
  cache::TierChain* tiers() { return tiers_.get(); }
  // The writeback staging tier; null without writeback.
  cache::StagingTier* staging() { return staging_.get(); }
  // What Open did with the leftovers of an earlier process in the staging directory.
  const StagingRecovery& staging_recovery() const { return recovered_; }
  // The object store as a tier (what a cache group member serves its peers from on a miss).
  StoreTier* store_tier() { return store_tier_.get(); }
  BlockStore* blocks() { return blocks_.get(); }
  DataWriter* writer() { return writer_.get(); }
  DataReader* reader() { return reader_.get(); }
  Compactor* compactor() { return compactor_.get(); }
  Deleter* deleter() { return deleter_.get(); }

 private:
  ChunkStore() = default;

  // Declaration order = construction order; destruction runs in reverse (writer first).
  std::unique_ptr<cache::BlockCache> cache_;
  std::unique_ptr<StoreTier> store_tier_;
  std::unique_ptr<Env> staging_env_;          // the default PosixEnv of staging_
  std::unique_ptr<cache::StagingTier> staging_;  // writeback only; uploads to store_tier_
  std::unique_ptr<cache::TierChain> tiers_;  // over cache_'s tiers, staging_ and store_tier_
  std::unique_ptr<BlockStore> blocks_;
  std::unique_ptr<Compactor> compactor_;
  std::unique_ptr<Deleter> deleter_;
  std::unique_ptr<DataReader> reader_;
  std::unique_ptr<DataWriter> writer_;
  StagingRecovery recovered_;
};

}  // namespace strata::chunk
