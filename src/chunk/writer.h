// DataWriter: the write path of one client (DESIGN.md §6), shared by all open files.
//
// Write(ino, off, data) copies into in-memory slices, one open slice per (inode, chunk):
// a write that continues the open slice exactly where it ends extends it; any other write
// (an overwrite, a gap, another position) freezes it and starts a new one. Each full block is
// handed to the upload pool (WriterOptions::max_uploads threads) at once, so a large
// sequential write streams to the store while the application keeps writing.
//
// A slice is frozen when it reaches the chunk end, when it has been open for
// `freeze_after_ms`, when its file was idle for `idle_ms`, on Flush()/Fsync(), and when the
// buffer budget needs memory back. A frozen slice's last partial block is uploaded, and
// the slice is committed (Meta::WriteSlice) only after ALL its blocks are stored
// ("upload before commit"); slices of one chunk are committed in the order they were written,
// so a later write always wins. Blocks of a slice whose upload or commit failed are deleted
// from the store, and the error is recorded in the file's error sequence (below).
//
// Write errors (errseq, as Linux's errseq_t and file->f_wb_err): a failed upload or commit of
// one of a file's slices gets a stamp from a writer-wide counter (stamps only grow) and becomes
// the file's latest error. Each open file description holds an ErrorCursor, the stamp it has
// seen:
//   OpenErrorCursor(ino)       at open: errors recorded before it are not this description's
//                              (except an orphan, below);
//   Flush/Fsync(ino, &cursor)  report the latest error stamped after the cursor, once, and
//                              advance the cursor (the error is then "seen");
//   CloseErrorCursor(ino)      at the description's last close.
// So every description that was open when an error happened sees it once at its next
// Flush/Fsync, a description opened later does not, and no description can consume it for
// another. Orphans: an error that no description has seen when the file's last cursor closes,
// or that happens while no cursor is open (pages written back after close), is logged
// (LOG_WARN) and kept for the file's next description, whose cursor starts just before it, so
// its first Flush/Fsync reports it. At most kMaxOrphanErrors files keep an orphan; past that
// the oldest is dropped, and that is logged too. The cursor-less Flush(ino)/Fsync(ino) act as a
// one-off description whose cursor starts at 0: they report (and mark seen) any error still
// recorded for the file. They are for callers that are the file's only user (tools, tests).
//
// Memory: buffered bytes of all files (from Write until the block is stored, or its slice
// committed or dropped) are bounded by `buffer_size`: Write blocks (back-pressure) until
// uploads and commits free memory; streamed blocks are recycled through a small free list
// (block_pool.h); when the budget is exhausted by slices nobody would freeze soon, the oldest open
// slices are frozen so memory always comes back.
//
// Read-your-writes: CaptureOverlay() returns the not-yet-committed bytes of a range, in write
// order, so the reader (ChunkStore::Read) can lay them over committed data. PendingEnd()
// tells how far buffered data extends the file, for getattr/read length.
//
// REQUIRES of callers (the VFS): Drain(ino) (or a Flush) before metadata operations that
// rewrite a file's chunks (truncate, fallocate, copy_file_range), so that pending slices are
// not committed on top of the new state afterwards.
//
// Thread-safety: every method may be called from any thread concurrently; writes to one inode
// from several threads are applied in the order the calls take the internal lock. An
// ErrorCursor is read and advanced only under the writer's lock, so concurrent calls with the
// same cursor (one description used by two threads) are safe.
// Errors: Write returns kFileTooLarge for an offset beyond the maximum file size, and the
// file's latest error stamped after the caller's cursor (without advancing it: the next
// Flush/Fsync still reports it). Flush/Fsync return the recorded upload/commit error (kIOError,
// kUnavailable, kNoSpace, kQuotaExceeded, ...) as described above; Fsync also returns its own
// failures to make blocks or metadata durable (those are not recorded: the next Fsync retries).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chunk/block_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "meta/slice_log.h"

namespace strata::chunk {

struct WriterOptions {
  uint64_t buffer_size = 300ULL << 20;  // --buffer-size: bytes buffered in all files (300 MiB)
  int max_uploads = 20;                 // --max-uploads: concurrent block uploads
  int freeze_after_ms = 5000;           // a slice open this long is frozen and committed
  int idle_ms = 1000;                   // a file not written for this long has its slices frozen
  int compact_every = 100;              // every Nth commit to a chunk checks for compaction
  int compact_sync_slices = 2500;       // past this many slices a commit compacts synchronously
  // Block keys remembered for a later Fsync (see Fsync) over all files; past this many they
  // are made durable in the background and forgotten (~100 bytes each).
  uint64_t max_unsynced_blocks = 65536;
  Status Validate() const;
};

// What one open file description has seen of its file's error sequence (see the top of this
// file). A default cursor has seen nothing: every error still recorded is news to it.
struct ErrorCursor {
  uint64_t stamp = 0;  // stamp of the latest error reported through this cursor
};

// A byte range of pending (uncommitted) data: `data` belongs at file offset `offset`.
struct OverlayPiece {
  uint64_t offset = 0;
  std::string data;
};

class Compactor;

class DataWriter {
 public:
  // meta and blocks are not owned and must outlive the writer. compactor may be null (no
  // automatic compaction). clock gives mtimes for commits.
  static Result<std::unique_ptr<DataWriter>> Open(meta::SliceLog* meta, BlockStore* blocks,
                                                  Compactor* compactor,
                                                  const WriterOptions& options,
                                                  Clock* clock = SystemClock::Get());
  // Flushes everything (errors are dropped deliberately: callers who care call FlushAll
  // first), then stops the threads.
  ~DataWriter();
  DataWriter(const DataWriter&) = delete;
  DataWriter& operator=(const DataWriter&) = delete;

  // Buffers `data` at `offset` of inode `ino`. May block for buffer space. Returns once the
  // bytes are buffered (not yet stored). Fails fast with the file's latest error stamped
  // after *since (null: any error still recorded), without advancing the cursor.
  Status Write(meta::Ino ino, uint64_t offset, std::string_view data,
               const ErrorCursor* since = nullptr);

  // Freezes every slice of `ino` that exists at the call and returns once all of them are
  // uploaded and committed (or failed). Slices that other threads open on the file meanwhile
  // are not waited for. close() semantics of DESIGN.md §6. Then reports the latest error
  // stamped after *cursor and advances the cursor to it (errseq, above).
  Status Flush(meta::Ino ino, ErrorCursor* cursor);
  // fsync(): Flush, and every block of the file's slices committed since the writer started
  // (or since the last Fsync) is durable against power loss before it returns, then the
  // metadata engine is synced. Blocks still to upload are put with PutOptions::sync. When
  // the store loses unsynced puts in a power cut (BlockStoreOptions::puts_need_sync,
  // file://), the writer remembers the keys of blocks it committed without sync — also
  // those committed by the freeze timers long before the fsync — and Fsync makes them
  // durable in place with BlockStore::SyncBlocks (one ObjectStore::Sync call for the
  // file's remembered keys; nothing is read or stored again). A slice whose upload began
  // before the fsync gets the same treatment for its blocks already stored without sync.
  // Past max_unsynced_blocks remembered keys, a background pass makes them all durable and
  // forgets them (memory stays bounded). A recorded error newer than *cursor is reported
  // (and the cursor advanced) instead of syncing.
  Status Fsync(meta::Ino ino, ErrorCursor* cursor);
  // A one-off description's Flush/Fsync (cursor at 0; see the top of this file).
  Status Flush(meta::Ino ino) {
    ErrorCursor fresh;
    return Flush(ino, &fresh);
  }
  Status Fsync(meta::Ino ino) {
    ErrorCursor fresh;
    return Fsync(ino, &fresh);
  }
  // Waits as Flush does and reports nothing: recorded errors stay for the descriptions. For
  // operations that only need the pending slices committed first (truncate, fallocate,
  // copy_file_range, O_TRUNC, the last release of a description).
  void Drain(meta::Ino ino);

  // A new description of `ino` (open): its cursor. Pair with CloseErrorCursor.
  ErrorCursor OpenErrorCursor(meta::Ino ino);
  // A description of `ino` is gone (its last close). When it was the file's last open cursor
  // and the file's latest error was never seen, the error becomes an orphan (logged, kept for
  // the next description).
  void CloseErrorCursor(meta::Ino ino);
  // Files that keep an orphan error at most (older orphans are dropped, with a log line).
  static constexpr size_t kMaxOrphanErrors = 4096;

  // Waits for every file's pending slices (unmount); returns the first recorded error that no
  // description has seen (logged orphans included), without marking it seen.
  Status FlushAll();

  // End offset of the furthest buffered byte of ino (0 when nothing is pending).
  uint64_t PendingEnd(meta::Ino ino) const;
  bool HasPending(meta::Ino ino) const;

  // The pending bytes of ino that intersect [offset, offset+len), clipped to that range, in
  // write order (apply them in sequence; later pieces win).
  // Blocks already stored are read back through the tiers; one that is gone meanwhile (its
  // slice was committed, or failed) leaves its piece out: the committed data, read after
  // this, has it. Errors: a read-back's (the store's, kCorruption).
  Result<std::vector<OverlayPiece>> CaptureOverlay(meta::Ino ino, uint64_t offset,
                                                   uint64_t len) const;

  // Called (from an upload thread, no lock held) after each successful commit of a slice to
  // (ino, chunk_index), before the slice stops being pending (CaptureOverlay): the reader
  // drops its cached segments there. Set before writing.
  void SetCommitListener(std::function<void(meta::Ino, uint32_t)> listener);

  // Bytes currently buffered over all files (for stats and tests).
  uint64_t buffered_bytes() const;

  class State;  // writer.cc / writer_internal.h

 private:
  explicit DataWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace strata::chunk
