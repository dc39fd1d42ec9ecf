// Deleter: background deletion of the blocks of unreferenced slices (DESIGN.md §4).
//
// The metadata drives it, so it is resumable after a crash: RunOnce() first expands
// deleted-file records (SliceLog::ProcessDeletedFiles), then, for each slice from
// SliceLog::PendingSliceDeletions, deletes every block of the slice from the store (deleting a
// missing block succeeds) and only then calls SliceLog::ConfirmSliceDeleted. A crash between the
// two leaves the slice pending, and the next run deletes (nothing) and confirms it.
//
// Start() runs RunOnce in a background thread every interval until the Deleter is destroyed
// (or Drain()ed); several clients may run deleters at once (deletes are idempotent).
//
// Thread-safety: all methods may be called from any thread.
// Errors: RunOnce returns the first SliceLog/store error; the background loop counts and retries
// on the next interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "chunk/block_store.h"
#include "common/status.h"
#include "meta/slice_log.h"

namespace strata::chunk {

class Deleter {
 public:
  // meta and blocks are not owned and must outlive the deleter.
  Deleter(meta::SliceLog* meta, BlockStore* blocks);
  ~Deleter();  // stops the background thread

  // One pass over at most `limit` deleted files and `limit` slices; returns the number of
  // slices whose blocks were deleted and confirmed.
  Result<int> RunOnce(int limit = 1000);

  // Runs RunOnce every `interval` in a background thread (idempotent).
  void Start(std::chrono::milliseconds interval);
  // Wakes the background thread for an immediate pass.
  void Kick();
  // True once Start() was called (background deletion is on for this client).
  bool started() const;

  // Clean shutdown: stops the background thread, then runs passes until nothing is pending,
  // a pass fails (the next client's deleter retries) or `bound` has passed (checked between
  // passes of at most `batch` slices). Returns the slices deleted, or the failing pass's
  // error. Blocks of files deleted just before an unmount are thus gone at unmount instead
  // of lingering until some client's next periodic pass.
  Result<int> Drain(std::chrono::milliseconds bound, int batch = 100);

  uint64_t slices_deleted() const;
  uint64_t errors() const;

 private:
  void Loop(std::chrono::milliseconds interval);
  void Stop();  // ends the background thread (idempotent)
  // RunOnce, also reporting how many deleted files were expanded into pending slices.
  Result<int> Pass(int limit, int* files);

  meta::SliceLog* meta_;
  BlockStore* blocks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  bool started_ = false;  // guarded by mu_
  bool kicked_ = false;   // guarded by mu_
  uint64_t deleted_ = 0;  // guarded by mu_
  uint64_t errors_ = 0;   // guarded by mu_
  std::thread thread_;
};

}  // namespace strata::chunk
