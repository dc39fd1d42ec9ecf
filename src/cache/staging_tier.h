// StagingTier: writeback staging (DESIGN.md §6 "Writeback mode") as a block tier
// (block_tier.h) that is the chain's write target in front of the store tier ("home").
//
// Write(key, block): the block goes to a file on local disk — created under its name, written
// and fsync'ed while a directory fsync runs in parallel (one directory fsync is shared by
// every file created before it started) — and is then queued for upload. Once Write returns OK the
// block survives SIGKILL of the process and a restart of the machine; the caller commits
// its slice to metadata at once, so close()/fsync() wait for the staging and the commit,
// not the upload. Layout and encoding: staging_format.h, docs/format/staging.md.
//
// Small blocks (at most `log_max` bytes: the last blocks of small files) are not given a file
// each: they are appended as records to a log segment (DIR/log/SEQ.log) by a group commit —
// the first writer to find the log idle becomes the leader, appends its own record and those
// of every writer queued behind it, and makes them durable with one fdatasync (a new segment:
// created and its directory fsync'ed first, once); each writer then gets its own result (a
// record whose append failed: that writer alone, who goes direct; a failed fdatasync: the
// writers of that group). This spares each small block the creation of a file (on ext4
// without a journal an inode allocation scans the recently deleted inodes, and staging deletes
// a file per upload), its own device flush and its directory fsync. A segment is rotated past
// `log_segment` bytes and deleted once no record in it is staged any longer (uploaded or
// removed) and it is not the one appended to (that one: when it is rotated, or at exit).
//
// Memory hand-off: while the bodies kept in memory stay within `memory` bytes, Write also
// encodes the block for the home tier (BlockTier::EncodeBody: the store's body, compressed and
// checksummed) and keeps that body with its entry, so its upload neither reads the file back
// nor decodes nor encodes again: the file is only the durable copy. A block staged while the
// budget is used up is kept on disk only; its upload reads, verifies and encodes it (as after
// a restart).
//
// Upload: one dispatcher thread feeds an upload pool (ThreadPool, `uploaders` threads): it
// takes the oldest queued block once `upload_delay` has passed since it was staged, and
// hands it to the pool while fewer than the allowed number of uploads run.
//
// Foreground first: while writers are staging (a Write in progress, or one finished within
// `foreground_window`), at most `foreground_uploaders` uploads run (not zero: the queue keeps
// moving), so that the uploads' CPU (hashing, copies, the store's own work on a small machine)
// does not slow the writes that close()/fsync() wait for. All `uploaders` run when the writers
// are idle, when staged bytes reach `high_water` of `limit`, when the oldest queued block has
// waited `max_lag` past its due time, when a writer waits for room, and while WaitDrained
// (sync-staging) waits. Only the order in time changes: what is staged is durable either way.
//
// An upload writes the kept body to the home tier (WriteBody, durably: sync) — for a block not
// kept in memory, the body encoded from its file, read back and verified — and only then
// deletes the file. A failed upload puts the block back at the head of the queue and pauses
// every upload for a back-off (0.5 s doubling to 30 s, reset by a success), so a store that
// is down is not hammered; nothing staged is ever dropped for a store error. No directory is
// polled: the queue is in memory and the dispatcher sleeps on a condition variable
// (Clock::WaitFor).
//
// Remove(key) (the block's slice was deleted, or its commit failed): waits for an upload of
// the key in progress, then forgets it and deletes its file; the chain removes it from the
// store afterwards. With an upload delay, blocks of files deleted soon after they were
// written never reach the store.
//
// Space: staged bytes are bounded by `limit`, and staging never fills its file system past
// 1 - free_space_ratio. The log's dead bytes (records uploaded or removed whose segment is
// still on disk: it holds other staged records, or is the one appended to) count against
// `limit` too, and a writer short of room first drops the segment appended to when nothing
// in it is staged, so the directory holds about `limit` bytes at most (one block more when
// it is empty). A Write that does not fit waits (back-pressure) for uploads to make room, at most `space_wait`; then, and at once when the disk fails (ENOSPC, EIO, ...), the
// block is written straight to the home tier (direct upload, counted as a fallback), so
// nothing is acknowledged that is not durable somewhere.
//
// Restart: Open takes the directory's LOCK (one owner at a time: a second mount or
// sync-staging on the same directory is refused), removes temporary files of older versions
// and files cut short before their header (never acknowledged), and indexes the block files
// it finds, unfinished ones included (ClassifyStagedFile), and every whole record of every
// log segment (a torn tail was never acknowledged; new records go to a new segment), as
// leftovers: they are served to reads
// but not uploaded until their owner decides (chunk/staging_recovery.h asks the metadata):
// Adopt queues a leftover for upload (its slice was committed), Discard deletes it (it was
// not: killed between staging and commit).
//
// Reads: Get serves staged blocks (verified by the file's checksum) before they are
// uploaded; a block uploaded and deleted meanwhile is a miss (the store has it).
//
// Ownership: the home tier is not owned and must outlive this. Env and Clock likewise.
// Thread-safety: every method may be called from any thread concurrently. The lock is never
// held across file I/O or a home-tier call.
// Errors: Open: kInvalidArgument (bad options, a directory of another volume or of an unknown
// format version), kWouldBlock (the directory is in use), the Env's. Write: the home tier's
// error when the block could be neither staged nor uploaded directly. Get: kNotFound (miss),
// kCorruption (a damaged staged file: logged; the chain then asks the store).
#pragma once

#include <condition_variable>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cache/block_tier.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/status.h"
#include "common/thread_pool.h"

namespace strata::cache {

struct StagingOptions {
  std::string dir;                 // --writeback-dir (required)
  std::string volume_uuid;         // recorded in DIR/VERSION; another volume's dir is refused
  uint64_t limit = 10ULL << 30;    // --writeback-limit: staged bytes at most (default 10 GiB)
  double free_space_ratio = 0.1;   // keep this fraction of the file system free (the cache's)
  std::chrono::milliseconds upload_delay{0};  // --upload-delay (default 0: upload at once)
  int uploaders = 20;              // concurrent uploads (--max-uploads)
  // --uploads-while-writing: concurrent uploads while writers are staging (1..uploaders;
  // default 1; equal to `uploaders`: no foreground priority). See "Foreground first" above.
  int foreground_uploaders = 1;
  std::chrono::milliseconds foreground_window{250};  // writers count as active this long
  double high_water = 0.5;                           // of `limit`: full speed from here on
  std::chrono::milliseconds max_lag{5000};           // an upload held back at most this long
  // --writeback-memory: bytes of staged blocks also kept in memory, encoded for the store,
  // until their upload (default 64 MiB; 0: every upload reads its file back).
  uint64_t memory = 64ULL << 20;
  std::chrono::milliseconds space_wait{60000};  // a writer waits this long for room (60 s)
  // Blocks of at most this many bytes go to the staging log (see the top; 0: every block
  // gets a file of its own), and a log segment is rotated past `log_segment` bytes.
  uint64_t log_max = 1ULL << 20;
  uint64_t log_segment = 4ULL << 20;
  Env* env = nullptr;              // required; not owned
  Clock* clock = nullptr;          // nullptr: SystemClock
  // Called (no lock held, on the writing thread) when a block is staged while nothing else
  // is: the session record should say so soon (meta PublishSessionSoon). May be empty.
  std::function<void()> on_nonempty;
  Status Validate() const;
};

// A plain snapshot for status, umount and the session record.
struct StagingStats {
  uint64_t bytes = 0;           // staged block bytes (queued, uploading and leftovers)
  uint64_t blocks = 0;
  uint64_t leftovers = 0;       // blocks found at open, not yet adopted or discarded
  uint64_t uploading = 0;
  uint64_t staged_total = 0;    // blocks staged since open
  uint64_t uploaded_total = 0;  // blocks uploaded (and their files deleted) since open
  uint64_t removed_total = 0;   // blocks removed before upload (deleted, or never committed)
  uint64_t fallbacks = 0;       // blocks written straight to the store (full or failing disk)
  uint64_t upload_errors = 0;   // failed upload attempts (retried)
  uint64_t waits = 0;           // writers that waited for room
  uint64_t memory_bytes = 0;    // encoded bodies kept in memory for their upload (<= memory)
  uint64_t rereads = 0;         // uploads that read their staged file back (not kept in memory)
  uint64_t held_back = 0;       // times an upload waited for a slot only writers' priority kept
  uint64_t log_records = 0;     // blocks appended to the staging log since open
  uint64_t log_groups = 0;      // group commits of the log (one fdatasync each)
  uint64_t log_queued = 0;      // writers waiting now behind the group commit in progress
  uint64_t log_segments = 0;    // log segment files on disk now
  uint64_t log_bytes = 0;       // their bytes on disk (staged records and dead ones)
  std::string last_error;       // the latest upload error, "" after a success
};

// A block file found at open (a leftover of an earlier process).
struct LeftoverBlock {
  std::string key;
  BlockOrigin origin;
  uint64_t size = 0;
};

class StagingTier : public BlockTier {
 public:
  static Result<std::unique_ptr<StagingTier>> Open(const StagingOptions& options,
                                                   BlockTier* home);
  // Stops the dispatcher and waits for the uploads in progress; what is still queued stays
  // on disk for the next owner (logged with its size).
  ~StagingTier() override;
  StagingTier(const StagingTier&) = delete;
  StagingTier& operator=(const StagingTier&) = delete;

  std::string_view Name() const override { return "staging"; }
  Result<BlockData> Get(const std::string& key, uint32_t expected_len) override;
  bool WantsFill() const override { return false; }
  Status Put(const std::string& key, BlockData data) override;
  bool Contains(const std::string& key) override;
  Status Remove(const std::string& key) override;
  // Stages the block (see the top); `sync` changes nothing: a staged block is always durable.
  Status Write(const std::string& key, std::string_view plain, bool sync,
               const BlockOrigin& origin) override;
  // Staged blocks are durable already; uploaded ones were written to home with sync.
  Status Sync(const std::vector<std::string>& keys) override;

  // Leftovers found at open that are neither adopted nor discarded yet.
  std::vector<LeftoverBlock> Leftovers() const;
  // Queues a leftover for upload (oldest first among the adopted). Unknown keys are ignored.
  void Adopt(const std::string& key);
  // Deletes a leftover (its slice was never committed, or is gone).
  Status Discard(const std::string& key);
  // Waits until nothing is staged, or `timeout` passed, or uploads keep failing with no
  // progress for `timeout`; returns the stats at the end (bytes 0 when drained).
  StagingStats WaitDrained(std::chrono::milliseconds timeout);
  // Keys staged now (for the session record's oldest slice).
  std::vector<std::string> Keys() const;
  StagingStats stats() const;
  const std::string& dir() const { return options_.dir; }

 private:
  enum class State : uint8_t { kLeftover, kQueued, kUploading };
  struct Entry {
    uint64_t size = 0;        // block bytes
    BlockOrigin origin;
    State state = State::kQueued;
    int64_t due_ns = 0;       // monotonic: not uploaded before this
    bool removed = false;     // Remove arrived during the upload
    BlockData body;           // encoded for home, kept for the upload (null: read the file)
    uint64_t seg = 0;         // log segment holding the record (0: a file of its own)
    uint64_t off = 0;         // the record's offset and length in that segment
    uint32_t rec_len = 0;
  };
  // A log segment: records in it still staged (or being appended); retired once it is no
  // longer the one appended to (its file is deleted when `live` reaches 0 after that).
  // Its bytes on disk (`bytes`: header, records, an unfinished tail) count against `limit`
  // while it exists, the records still staged among them (`live_bytes`) as staged bytes and
  // the rest as dead bytes (log_bytes_ - log_live_bytes_).
  struct LogSegment {
    uint64_t live = 0;        // records staged, or reserved by the append in progress
    uint64_t bytes = 0;       // the file's length so far
    uint64_t live_bytes = 0;  // bytes of its durable records still staged
    bool retired = false;
  };
  // One writer's record waiting for (or in) a group commit.
  struct LogAppend {
    std::string record;  // EncodeStagedBlock
    Status st;
    uint64_t seg = 0, off = 0;
    bool done = false;
  };

  StagingTier(const StagingOptions& options, BlockTier* home, std::unique_ptr<FileLock> lock,
              std::unique_ptr<ThreadPool> pool);
  Status Scan();
  std::string PathOf(const std::string& name) const;
  // Waits for room for `size` bytes (back-pressure); false when none came in time.
  bool WaitForRoom(uint64_t size);
  // True when the file system keeps its free-space ratio after `size` more bytes.
  bool DiskHasRoom(uint64_t size);
  // The body (home_->EncodeBody) to keep for the upload of `plain`, counted in
  // stats_.memory_bytes; null when the memory budget has no room for it (nothing counted).
  BlockData KeepForUpload(std::string_view plain);
  // Write's work: stages the block, or writes it to home when it cannot be staged.
  Status StageOrGoDirect(const std::string& key, const std::string& name,
                         std::string_view plain, const BlockOrigin& origin);
  // Appends the block to the staging log through the group commit (staging_log.cc); *seg,
  // *off and *len say where the durable record is.
  Status StageLog(const std::string& key, std::string_view plain, const BlockOrigin& origin,
                  uint64_t* seg, uint64_t* off, uint32_t* len);
  // The leader's work: appends `group` (in order) and fdatasyncs, opening segments as needed;
  // sets each member's st/seg/off. No lock held on entry.
  void AppendGroup(const std::vector<LogAppend*>& group);
  // Opens a new segment for the leader (created, header written, directory fsync'ed) and
  // registers it with `records` live records; retires the previous one.
  Status OpenSegment(uint64_t records);
  // Log segments at open: every whole record becomes a leftover. REQUIRES: called from Open.
  Status ScanLog();
  // Reads a staged block's bytes (its file, or its record in a segment), not yet verified.
  Result<BlockBuffer> ReadStaged(const std::string& key, const Entry& e) const;
  // A record of segment `seg` is no longer staged: returns the segment's path when it is
  // now to be deleted (by the caller, without the lock), else "". REQUIRES: mu_ held.
  // `rec_len`: the record's bytes when it was durable and counted in live_bytes, else 0.
  std::string ReleaseRecordLocked(uint64_t seg, uint64_t rec_len);
  // Forgets segment `it` (its bytes leave log_bytes_); returns its path. REQUIRES: mu_ held.
  std::string EraseSegmentLocked(std::map<uint64_t, LogSegment>::iterator it);
  // When the segment appended to holds no staged record, forgets it (the next group opens a
  // new one) and returns its path for the caller to delete without the lock, else "": its
  // dead bytes are freed for a writer who needs room. REQUIRES: mu_ held.
  std::string DropIdleSegmentLocked();
  std::string SegmentPath(uint64_t seg) const;
  // Creates the block file in place, writes and fsyncs it while the directory is fsync'ed.
  Status StageFile(const std::string& key, const std::string& name, std::string_view plain,
                   const BlockOrigin& origin);
  // The directory syncer (its own thread): RequestDirSync, made after a file was created,
  // returns a ticket; WaitDirSync returns once an fsync of the directory that started after
  // the request succeeded (OK) or failed (its error). One fsync serves every ticket handed
  // out before it started.
  uint64_t RequestDirSync();
  Status WaitDirSync(uint64_t ticket);
  void DirSyncLoop();
  void DispatchLoop();
  // Uploads allowed to run now (foreground priority, see the top); when fewer than
  // `uploaders`, *until_ns is when that may change without anything else happening.
  // REQUIRES: mu_ held.
  uint64_t UploadSlots(int64_t now, int64_t* until_ns) const;
  void Upload(const std::string& key);
  // The upload of a block not kept in memory: reads, verifies and writes its file; *lost when
  // the file is gone or damaged (moved aside as .corrupt).
  Status UploadFromFile(const std::string& key, const Entry& where, bool* lost);
  // REQUIRES: mu_ held, entry erased. Returns the path of a log segment to delete (without
  // the lock) when the entry was its last staged record, else "".
  [[nodiscard]] std::string Forget(const std::string& key, const Entry& e);
  void RemoveSegmentFile(const std::string& path);  // no lock held; "" does nothing

  const StagingOptions options_;
  BlockTier* const home_;
  Clock* const clock_;
  const std::string blocks_dir_;
  std::unique_ptr<FileLock> lock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;        // queue changed, upload finished, room freed, stop
  std::unordered_map<std::string, Entry> index_;  // key -> entry; guarded by mu_
  std::deque<std::string> queue_;     // keys to upload, oldest first (may hold stale keys)
  StagingStats stats_;                // counters; bytes/blocks kept current; guarded by mu_
  int64_t paused_until_ns_ = 0;       // uploads wait after a failure (back-off)
  std::chrono::milliseconds backoff_{0};
  bool stop_ = false;
  uint64_t gen_ = 0;                  // bumped on every change the dispatcher waits for
  // Foreground priority, guarded by mu_: Writes staging now and when the last one ended
  // (monotonic), writers waiting for room, and WaitDrained callers.
  int writing_ = 0;
  int64_t last_write_ns_ = INT64_MIN;
  int room_waiters_ = 0;
  int drain_waiters_ = 0;
  bool holding_ = false;              // the dispatcher holds a ready upload back (held_back)
  // Directory syncer, guarded by mu_: tickets handed out, the last ticket an fsync finished
  // for, the last one a successful (failed) fsync covered, and that failure.
  std::condition_variable dir_cv_;
  uint64_t dir_requested_ = 0, dir_done_ = 0, dir_synced_ = 0, dir_failed_ = 0;
  Status dir_error_;
  bool dir_stop_ = false;
  std::thread dir_syncer_;

  // Staging log, guarded by mu_: segments on disk by number, the one appended to (0: none;
  // the next group opens one), the last number used.
  const std::string log_dir_;
  std::map<uint64_t, LogSegment> segments_;
  uint64_t active_seg_ = 0;
  uint64_t last_seg_ = 0;
  uint64_t log_bytes_ = 0;       // every segment's bytes on disk
  uint64_t log_live_bytes_ = 0;  // of them, records still staged
  // The group commit, guarded by log_mu_ (never held with mu_): writers queued, and whether a
  // leader is appending. log_file_ (the active segment's file) is used only by the leader.
  mutable std::mutex log_mu_;
  std::condition_variable log_cv_;
  std::vector<LogAppend*> log_queue_;
  bool log_busy_ = false;
  std::unique_ptr<WritableFile> log_file_;
  uint64_t log_file_seg_ = 0;

  std::unique_ptr<ThreadPool> pool_;  // uploads
  std::thread dispatcher_;
};

}  // namespace strata::cache
