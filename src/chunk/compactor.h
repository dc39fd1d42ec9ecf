// Compactor: rewrites a fragmented chunk as one slice (DESIGN.md §4).
//
// CompactChunk(ino, chunk) reads the chunk's slice list, resolves its visible view, reads the
// visible bytes (through the BlockStore), writes them as one new slice (new id, blocks
// uploaded first) and calls SliceLog::CompactChunk, which replaces the slices read only if the
// chunk's list still begins with them. On kConflict (or any failure after upload) the new
// blocks are deleted. Leading and trailing holes are not stored; holes inside the view are
// stored as zeros. The replaced slices lose a reference; the Deleter removes their blocks.
//
// Schedule(ino, chunk) queues a background compaction (deduplicated) on one worker thread
// (a common ThreadPool); it never blocks, and a job that finds the queue full is dropped
// (counted in failures(); the chunk is scheduled again when next found fragmented).
//
// Durability: when the store needs it (BlockStoreOptions::puts_need_sync, file://) the new
// slice is uploaded with PutOptions::sync, because it replaces slices a client may already
// have fsync'ed and whose blocks the deleter will remove.
//
// Thread-safety: all methods may be called from any thread concurrently.
// Errors: SliceLog and BlockStore errors; kConflict when the chunk changed meanwhile (harmless:
// the chunk will be compacted again when it is next found fragmented).
#pragma once

#include <cstdint>
#include <memory>

#include "chunk/block_store.h"
#include "common/status.h"
#include "meta/slice_log.h"

namespace strata::chunk {

class Compactor {
 public:
  // meta and blocks are not owned and must outlive the compactor.
  static Result<std::unique_ptr<Compactor>> Open(meta::SliceLog* meta, BlockStore* blocks);
  ~Compactor();  // runs the queued jobs to completion, then stops
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // Compacts now, in the calling thread. OK (doing nothing) when the chunk has fewer than two
  // slices or no data.
  Status CompactChunk(meta::Ino ino, uint32_t chunk_index);
  // Compacts every chunk of a file of `length` bytes (strata compact).
  Status CompactFile(meta::Ino ino, uint64_t length);
  // Queues CompactChunk in the background; errors are counted, not reported.
  void Schedule(meta::Ino ino, uint32_t chunk_index);
  // Blocks until the background queue is empty (tests, unmount).
  void WaitIdle();

  // Number of successful compactions and of failures (including conflicts), for stats.
  uint64_t compactions() const;
  uint64_t failures() const;

  class State;  // compactor.cc

 private:
  explicit Compactor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata::chunk
