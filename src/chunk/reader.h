// DataReader: the read path of one client (DESIGN.md §7), shared by all open files.
//
// Read(ino, off, size, length, state) returns the committed bytes of the range: per chunk it
// loads the slice list (SliceLog::ReadChunk) and resolves it into segments
// (meta::ResolveSlices), caching the segments per (inode, chunk) until Invalidate*; then
// fetches the needed blocks in parallel on the download pool (common ThreadPool,
// max_downloads threads) through the BlockStore (the chain of block tiers: memory, disk,
// store; ranged GETs for partial blocks of uncompressed volumes). Holes and bytes past the
// chunk's written end but inside `length` read as zeros.
//
// Readahead: `state` (one per open handle, kept by the caller) detects sequential reads: a
// read at the previous read's end (a first read at 0), or, once a window is open, within
// min(window, 2 MiB) of it (the kernel's concurrent FUSE reads arrive slightly reordered).
// The window starts at one block and doubles on each sequential read up to readahead_max;
// before a read fetches its own blocks, the blocks ahead up to the window's end are queued
// for background fetch into the cache (bounded in total by readahead_total bytes in flight),
// so a sequential reader keeps several block GETs in flight. The nearest part of the window,
// up to local_readahead_max, is read ahead into memory even when the disk cache holds those
// blocks (BlockStore::ReadAhead): a disk-cache read (O_DIRECT) has no kernel readahead
// behind it, so without this each block's first read waited on the disk. It starts once the
// sequential run has read local_readahead_after bytes; the rest of the window only fetches
// blocks no cache holds (BlockStore::Prefetch). So a disk-cached file read in short
// sequential runs (Parquet column chunks) reads nothing past a run shorter than
// local_readahead_after, and at most local_readahead_max past a longer one. Queued readahead
// is not cancelled by a seek (it is bounded: at most readahead_total bytes in flight over all
// files, and the memory tier's size for what it keeps). A sequential read fetches its
// blocks whole (sharing the readahead GET); a read smaller than a block otherwise gets its
// bytes (ranged GET on uncompressed volumes) and its whole block is prefetched into the cache
// (a following read of the same block is a cache hit). Each block is downloaded once.
//
// A chunk whose view has >= compact_segments non-hole segments is handed to the compactor
// (in the background) when one is given.
//
// The reader sees only committed data; ChunkStore::Read adds the writer's pending bytes.
//
// Thread-safety: every method may be called from any thread concurrently, also several reads
// of one ReadState (the kernel sends a handle's reads concurrently): the state's own mutex
// guards only its bookkeeping, never a block fetch.
// Errors: SliceLog errors from ReadChunk; BlockStore errors (kNotFound for a missing block,
// kCorruption, kUnavailable, kIOError). Background prefetch errors are dropped (the
// foreground read will retry and report them).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "chunk/block_store.h"
#include "chunk/read_buffer.h"
#include "common/status.h"
#include "meta/slice_log.h"

namespace strata::chunk {

struct ReaderOptions {
  int max_downloads = 16;                 // concurrent block fetches (foreground + prefetch)
  // Largest readahead window per handle (64 MiB): 16 blocks of 4 MiB, as many GETs as
  // max_downloads, which a store like s3rver needs in flight (a cold 512 MiB read on s3rver:
  // 204 -> 239 MiB/s from 32 MiB, bench/RESULTS.md "S3 data path").
  uint64_t readahead_max = 64ULL << 20;
  uint64_t readahead_total = 256ULL << 20;  // prefetch bytes in flight over all files
  // How far ahead of a sequential reader blocks held by the disk cache are read into the
  // memory cache (at most the current window; 0: never). 16 MiB: 4 blocks of 4 MiB in flight
  // took the 4 GiB local hit past the passthrough (bench/RESULTS.md "Local hit: disk
  // readahead"; a deeper window was not measured).
  uint64_t local_readahead_max = 16ULL << 20;
  // ... once the sequential run has read this much (16 MiB): a Parquet-like reader of ranges
  // shorter than that reads nothing past them from the disk (1-8 MiB ranges read 2.3x the
  // disk bytes with no threshold, 1.3x with 8 MiB, which the kernel's own readahead past a
  // range crosses); a long sequential read starts 16 MiB later.
  uint64_t local_readahead_after = 16ULL << 20;
  size_t segment_cache_chunks = 4096;     // (inode, chunk) segment lists kept
  int compact_segments = 5;               // visible segments that trigger compaction
  // A block that metadata references but no tier has may still be staged on the writing
  // mount's disk (writeback, DESIGN.md §6): it appears when uploaded. A read retries it for
  // this long (--staged-wait, default 20 s), then fails with EIO and a log line naming it.
  int missing_block_wait_ms = 20000;
  Status Validate() const;
};

// Per-handle sequential-read state. Opaque to callers: default-construct one per open file
// handle and pass it to every Read of that handle.
struct ReadState {
  std::mutex mu;              // guards the fields below (held for bookkeeping only)
  uint64_t next_offset = 0;   // where a sequential read would continue
  uint64_t window = 0;        // current readahead window in bytes (0 = none yet)
  uint64_t prefetched_to = 0; // file offset up to which prefetch was issued
  uint64_t promoted_to = 0;   // file offset up to which readahead into memory was issued
  uint64_t run_start = 0;     // where the current sequential run began
};

class Compactor;

class DataReader {
 public:
  // meta and blocks are not owned and must outlive the reader; compactor may be null.
  static Result<std::unique_ptr<DataReader>> Open(meta::SliceLog* meta, BlockStore* blocks,
                                                  Compactor* compactor,
                                                  const ReaderOptions& options);
  ~DataReader();  // waits for background prefetches
  DataReader(const DataReader&) = delete;
  DataReader& operator=(const DataReader&) = delete;

  // Up to `size` bytes at `offset` of ino, whose length is `length`: returns
  // min(size, length - offset) bytes (empty at or past the end). state may be null (no
  // readahead).
  Result<std::string> Read(meta::Ino ino, uint64_t offset, size_t size, uint64_t length,
                           ReadState* state);
  // The same into *out (emptied first) as pieces of the cached blocks: no copy of the bytes.
  Status ReadInto(meta::Ino ino, uint64_t offset, size_t size, uint64_t length,
                  ReadState* state, ReadBuffer* out);

  // Drop cached segments: of one chunk (after a local commit) or of the whole file (at open,
  // for close-to-open consistency, and after truncate/fallocate/copy_file_range).
  void Invalidate(meta::Ino ino, uint32_t chunk_index);
  void InvalidateFile(meta::Ino ino);

  // Background whole-block fetches queued so far (readahead and small-read prefetch), for
  // stats and tests. Prefetches skipped because the download queue was full are not counted.
  uint64_t prefetches() const;

  class State;  // reader.cc

 private:
  explicit DataReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata::chunk
