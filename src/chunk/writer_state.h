// DataWriter internals shared by writer.cc (write path, public forwarding),
// writer_commit.cc (freeze, upload, commit, compaction, fsync), writer_flush.cc (flush,
// pending view for readers, freeze timers) and writer_errors.cc (the error sequences).
// Not part of the public API.
//
// Locking: one mutex (State::mu_) guards every file's slice bookkeeping, the error sequences
// (and the ErrorCursors passed in) and the buffer budget; it is never held across an
// object-store call, a metadata transaction, a log line or a wait on another lock, except
// the block pool's (block_pool.h), a leaf held only to push or pop its free list (Take, and
// the release of a pooled block whose last reference the writer drops under mu_). Block
// bytes of a full block (or of a frozen slice) never change, so upload tasks read them
// without the lock.
//
// Memory of uploaded blocks: once a block is stored, the writer drops its reference at once
// (SliceBuf::blocks[i] becomes null, SliceBuf::released counts its bytes) instead of keeping
// it until the slice is committed: a streamed chunk held all 16 of its 4 MiB blocks until its
// last one was stored, so ~2 chunks (128 MiB) per writer stayed live and 4 writers hit the
// buffer budget. CaptureOverlay reads such a block back through the tiers (the memory cache
// holds it when cache_written_blocks; a file:// store reads it from the page cache).
#pragma once

#include "chunk/writer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "chunk/block_key.h"
#include "chunk/block_pool.h"
#include "chunk/compactor.h"
#include "common/block_buffer.h"
#include "common/thread_pool.h"
#include "fmt/format.h"

namespace strata::chunk {

using meta::Ino;
using meta::kChunkSize;

namespace writer_detail {

struct SliceBuf {
  Ino ino = 0;
  uint32_t chunk = 0;
  uint32_t pos = 0;        // position in the chunk
  uint32_t len = 0;        // bytes buffered
  uint64_t seq = 0;        // global write order (overlay)
  int64_t created_ns = 0;  // monotonic
  // Plain bytes; the last may be partial. Shared: a block handed to the upload pool is never
  // changed again, and the memory cache and writeback staging keep references to it. Null
  // once stored (released: see the top of this file).
  std::vector<std::shared_ptr<BlockBuffer>> blocks;
  uint32_t released = 0;   // bytes of stored blocks whose memory was given back
  uint32_t submitted = 0;  // blocks handed to the upload pool
  uint32_t finished = 0;   // blocks whose upload finished (ok or not)
  std::vector<bool> synced;  // per block: stored with PutOptions::sync
  bool frozen = false;
  bool done = false;       // committed or failed, and out of the queue (Flush waits on it)
  bool sync = false;       // fsync asked for durable puts (guarded by the writer lock)
  Status error;            // first upload error
  // Set once, by the first upload task, outside the writer lock (id_mu).
  std::mutex id_mu;
  uint64_t id = 0;

  bool UploadsDone() const { return frozen && finished == blocks.size(); }
  // Length of block i, released or not: every block but the last is full. REQUIRES: the
  // block is full, or the slice frozen.
  uint32_t BlockLen(uint32_t i, uint32_t block_size) const {
    return std::min<uint32_t>(block_size, len - i * block_size);
  }
};

struct FileState {
  std::map<uint32_t, std::shared_ptr<SliceBuf>> open;                // chunk -> open slice
  std::map<uint32_t, std::deque<std::shared_ptr<SliceBuf>>> queues;  // chunk -> uncommitted
  std::set<uint32_t> committing;  // chunks whose head slice is being committed
  std::map<uint32_t, uint64_t> commits;  // chunk -> commits so far (compaction trigger)
  int64_t last_write_ns = 0;
  // Keys of committed blocks stored without PutOptions::sync since the last Fsync, kept only
  // when the store needs it (BlockStoreOptions::puts_need_sync): Fsync makes them durable.
  std::vector<std::string> unsynced;
  int syncing = 0;                // SyncFile runs in progress (fsync or background drain)
  bool Empty() const { return queues.empty(); }
};

// A file's error sequence (writer.h "Write errors"). Exists while the file has open cursors
// or keeps an orphan error.
struct ErrorRecord {
  uint64_t stamp = 0;    // stamp of the latest error; 0 = none recorded
  Status error;          // the latest error
  bool seen = false;     // reported through some cursor
  bool orphan = false;   // kept for the next description (no cursor saw it)
  int cursors = 0;       // open cursors (descriptions)
};

}  // namespace writer_detail

using writer_detail::ErrorRecord;
using writer_detail::FileState;
using writer_detail::SliceBuf;

class DataWriter::State {
 public:
  State(meta::SliceLog* meta, BlockStore* blocks, Compactor* compactor, const WriterOptions& o,
        Clock* clock, std::unique_ptr<ThreadPool> pool, std::unique_ptr<BlockPool> buffers)
      : meta_(meta), blocks_(blocks), compactor_(compactor), opts_(o), clock_(clock),
        block_size_(blocks->block_size()), buffers_(std::move(buffers)), pool_(std::move(pool)) {
    timer_ = std::thread([this] { TimerLoop(); });
  }

  ~State() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    timer_cv_.notify_all();
    timer_.join();
  }

  Status Write(Ino ino, uint64_t offset, std::string_view data, const ErrorCursor* since);
  // Flush (sync: Fsync). cursor null: wait only, report no recorded error (Drain).
  Status Flush(Ino ino, bool sync, ErrorCursor* cursor);
  Status FlushAll();
  ErrorCursor OpenCursor(Ino ino);
  void CloseCursor(Ino ino);
  uint64_t PendingEnd(Ino ino) const;
  bool HasPending(Ino ino) const;
  Result<std::vector<OverlayPiece>> CaptureOverlay(Ino ino, uint64_t offset, uint64_t len) const;
  void SetListener(std::function<void(Ino, uint32_t)> l) {
    std::lock_guard lock(mu_);
    listener_ = std::move(l);
  }
  uint64_t buffered() const {
    std::lock_guard lock(mu_);
    return buffered_;
  }

 private:
  using Task = std::pair<std::shared_ptr<SliceBuf>, uint32_t>;  // (slice, block index)
  // Work found under the lock, done after releasing it: uploads to submit and chunks whose
  // head slice may now be committable.
  struct SyncJob {
    Ino ino;
    std::shared_ptr<FileState> file;
    std::vector<std::string> keys;
  };
  struct Work {
    std::vector<Task> tasks;
    std::vector<std::pair<Ino, uint32_t>> drive;
    std::vector<SyncJob> syncs;  // background drains of unsynced keys
    bool empty() const { return tasks.empty() && drive.empty() && syncs.empty(); }
  };

  std::shared_ptr<FileState> FileLocked(Ino ino) {
    auto& f = files_[ino];
    if (!f) f = std::make_shared<FileState>();
    return f;
  }
  // Marks the slice frozen and queues its unsubmitted blocks. REQUIRES: mu_ held.
  // `s` is taken by value: callers pass the FileState::open entry this erases.
  void FreezeLocked(FileState& f, std::shared_ptr<SliceBuf> s, Work* work);
  void FreezeFileLocked(FileState& f, Work* work);
  // Submits the uploads, then drives the chunks. REQUIRES: mu_ not held.
  void Run(Work work);
  // Runs `task` on the upload pool; blocks while its queue is full (back-pressure). Only a
  // pool that is shutting down refuses, and then the task runs in the calling thread.
  void Submit(std::function<void()> task) {
    if (!pool_->Submit(task).ok()) task();
  }
  void Upload(const std::shared_ptr<SliceBuf>& s, uint32_t index);
  // The block to hand to the tiers: `block` itself, or, when it holds much more capacity than
  // bytes, a copy of its size that replaces it in s (takes the lock for that).
  std::shared_ptr<const BlockBuffer> Tighten(SliceBuf& s, uint32_t index,
                                             std::shared_ptr<const BlockBuffer> block);
  // Takes the file's unsynced keys (SyncJob), or returns false when there are none.
  // REQUIRES: mu_ held.
  bool TakeUnsyncedLocked(Ino ino, const std::shared_ptr<FileState>& f, SyncJob* job);
  // Makes the job's blocks durable; on failure gives the keys back to the file.
  Status RunSync(SyncJob job);
  // Drops the file's state when nothing about it is left to remember. REQUIRES: mu_ held.
  void MaybeForgetLocked(Ino ino, const std::shared_ptr<FileState>& f);
  // Commits finished head slices of (ino, chunk) in order.
  void Drive(Ino ino, uint32_t chunk);
  // sync: the slice's `sync` flag, read under the lock. Returns whether the slice's blocks
  // were all stored durably (through the re-put below) in *durable.
  Status CommitSlice(SliceBuf& s, bool sync, bool* durable);
  void MaybeCompact(Ino ino, uint32_t chunk, uint64_t commits);
  void TimerLoop();
  // ---- Error sequences (writer_errors.cc). REQUIRES: mu_ held. Log lines are appended to
  // *logs, to be written (LogAll) after the lock is released.
  // Records st as ino's latest error (a new stamp).
  void RecordErrorLocked(Ino ino, const Status& st, std::vector<std::string>* logs);
  // The latest error of ino stamped after *since (null: after 0), or OK.
  Status PeekErrorLocked(Ino ino, const ErrorCursor* since) const;
  // As Peek, and advances *cursor and marks the error seen.
  Status CheckErrorLocked(Ino ino, ErrorCursor* cursor);
  // Makes ino's unseen error an orphan, dropping the oldest orphan past the bound.
  void OrphanLocked(Ino ino, ErrorRecord& rec, std::vector<std::string>* logs);
  // Erases the record when nothing about it is left to remember.
  void MaybeForgetErrorLocked(Ino ino);
  static void LogAll(const std::vector<std::string>& logs);
  // Frees memory under pressure: freezes every open slice. REQUIRES: mu_ held.
  void RelieveLocked(Work* work);

  meta::SliceLog* const meta_;
  BlockStore* const blocks_;
  Compactor* const compactor_;
  const WriterOptions opts_;
  Clock* const clock_;
  const uint32_t block_size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // slice done, memory freed, stop
  // The timer's own wake-up (stop only). Sharing cv_ woke the timer at every upload and
  // commit (twice per small file) to walk with_open_ under mu_ and sleep again: two context
  // switches of ten per 4 KiB create, and mu_ held once more per file for every open file.
  std::condition_variable timer_cv_;
  std::map<Ino, std::shared_ptr<FileState>> files_;  // guarded by mu_
  // The inodes of files_ whose FileState has open slices: all the timer has to look at
  // (files_ also keeps every closed file with unsynced keys, tens of thousands on file://,
  // which the timer walked under mu_ every tick). Guarded by mu_.
  std::set<Ino> with_open_;
  uint64_t buffered_ = 0;                            // guarded by mu_
  uint64_t frozen_bytes_ = 0;  // buffered bytes in frozen slices (will be freed); mu_
  // Bytes of blocks handed to the upload pool whose upload has not finished: they will be
  // released without anyone freezing anything (back-pressure). Guarded by mu_.
  uint64_t uploading_bytes_ = 0;
  int64_t last_any_write_ns_ = 0;  // monotonic time of the latest Write; guarded by mu_
  uint64_t next_seq_ = 1;                            // guarded by mu_
  uint64_t unsynced_total_ = 0;  // keys in all FileState::unsynced; guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::function<void(Ino, uint32_t)> listener_;      // guarded by mu_
  std::map<Ino, ErrorRecord> errors_;  // error sequences (writer_errors.cc); guarded by mu_
  uint64_t error_stamps_ = 0;          // last stamp handed out; guarded by mu_
  size_t orphans_ = 0;                 // records with orphan set; guarded by mu_

  // Recycled buffers of streamed blocks (block_pool.h); trimmed when the writer is idle.
  const std::unique_ptr<BlockPool> buffers_;
  // Declared last but one: destroyed (draining its queue) before the state it touches.
  std::unique_ptr<ThreadPool> pool_;
  std::thread timer_;
};

}  // namespace strata::chunk
