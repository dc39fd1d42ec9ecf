// SliceLog: the part of the metadata the data path (chunk/) uses, and nothing more. A chunk's
// value is an append-only log of slice records (DESIGN.md §4); the writer appends to it, the
// reader reads it, the compactor replaces its head, and the deleter drains the slices whose
// last reference went. Meta implements it (class Meta : public SliceLog, meta.h) over the
// transactional KV core; chunk/ takes a SliceLog* so that it depends on these eight calls
// rather than on all of Meta's namespace, session and lock API.
//
// Implementations must be real metadata (tests use Meta over memkv, chunk/test_volume.h): the
// data path's correctness rests on each call being one transaction, as stated per method.
//
// Ownership: callers hold a non-owning pointer; the implementation outlives the data path.
// Thread-safety: every method may be called from any thread concurrently.
// Errors: those of Meta (meta.h): kNotFound (no such inode), kNoSpace / kQuotaExceeded (over
// the volume's capacity or a quota), kConflict (CompactChunk: the chunk changed), kReadOnly
// (read-only client), kUnavailable / kTimeout (engine unreachable; retryable), kIOError.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "meta/types.h"

namespace strata::meta {

class SliceLog {
 public:
  virtual ~SliceLog() = default;

  // A new, never reused slice id (allocated from a counter in batches).
  virtual Result<uint64_t> NewSliceId() = 0;
  // The chunk's slice list in commit order (empty when the chunk was never written).
  virtual Result<std::vector<Slice>> ReadChunk(Ino ino, uint32_t chunk_index) = 0;
  // Appends `slice` to the chunk, grows the length to cover it, sets mtime/ctime and updates
  // usage, in one transaction. REQUIRES: every block of the slice is stored (upload before
  // commit, DESIGN.md §6).
  virtual Status WriteSlice(Ino ino, uint32_t chunk_index, const Slice& slice,
                            const Timespec& mtime) = 0;
  // Replaces the chunk's first expected.size() slices by `replacement` if the list still
  // begins with `expected`; kConflict otherwise (the caller then deletes replacement's blocks).
  virtual Status CompactChunk(Ino ino, uint32_t chunk_index, const std::vector<Slice>& expected,
                              const Slice& replacement) = 0;
  // Expands up to `limit` deleted-file records into slice dereferences; returns how many.
  virtual Result<int> ProcessDeletedFiles(int limit) = 0;
  // Stored slices whose reference count reached zero (blocks to delete), at most `limit`.
  virtual Result<std::vector<SliceRef>> PendingSliceDeletions(int limit) = 0;
  // Called after the slice's blocks are gone from the store.
  virtual Status ConfirmSliceDeleted(const SliceRef& ref) = 0;
  // Makes every transaction committed so far durable against power loss (fsync's metadata
  // step, DESIGN.md §6); OK at once for engines whose commits are durable when they return.
  virtual Status Sync() = 0;
};

}  // namespace strata::meta
