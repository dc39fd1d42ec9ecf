// Meta: the POSIX namespace and file metadata of one volume, written once over the
// transactional KV core (kv::KvEngine). Every mutating operation is ONE kv transaction run by
// kv::RunTxn: after a crash it either happened or did not. Engines implement only kv.h.
//
// The implementation is split one operation (family) per file, as 3FS's meta/store/ops:
//   meta.cc (open, format, settings), attr ops, entry ops (mknod/mkdir/symlink/link),
//   unlink/rmdir, rename, readdir, xattr, statfs/usage, slices (read/write/compact),
//   truncate/fallocate/copy_file_range, gc (deleted files, slice refs), sessions, open files,
//   locks, trash (trash.cc; listing and restoring for `strata trash`: trash_admin.cc).
// Meta's roles beside the namespace are classes of their own, each with its own lock, and
// Meta forwards to them: SessionManager (session_manager.h: the session record, heartbeat
// thread, elected cleanup), OpenFiles (open_files.h: open counts), LockWaiter
// (lock_waiter.h: the one lock-wait loop).
// The key schema is in schema.h and docs/format/meta-schema.md.
//
// Time: every timestamp, expiry and wait comes from MetaOptions::clock (mtimes, session
// heartbeats and expiry, the trash hour, lock-wait back-off), so tests run on a FakeClock.
//
// Permission checks are done here as the kernel would with default_permissions off:
// owner/group/other with supplementary groups, root bypass (except exec needing some x bit),
// sticky directories, setgid inheritance. Callers pass the Context of the requester.
//
// Errors: kNotFound (ENOENT), kAlreadyExists, kNotEmpty, kIsDir, kNotDir, kNameTooLong,
// kLoop, kPermissionDenied (EACCES), kNotPermitted (EPERM), kInvalidArgument, kCrossDevice,
// kNoSpace / kQuotaExceeded (capacity / inode limits), kNoData (missing xattr), kOutOfRange,
// kWouldBlock (lock held), kReadOnly (read-only client), kUnavailable (engine down).
//
// Thread-safety: all methods may be called concurrently from many threads; consistency
// between threads and between clients comes from the engine's transactions.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "meta/format.h"
#include "meta/dir_attr_cache.h"
#include "meta/dir_names_cache.h"
#include "meta/kv/kv.h"
#include "meta/lock_waiter.h"
#include "meta/open_files.h"
#include "meta/session_manager.h"
#include "meta/slice_log.h"
#include "meta/types.h"
#include "meta/xattr_cache.h"

namespace strata::meta {
namespace quota {
class Tracker;  // quota_kv.h
}  // namespace quota

struct MetaOptions {
  bool read_only = false;         // every mutation returns kReadOnly
  int heartbeat_seconds = 12;     // session heartbeat period
  int session_expiry_seconds = 60;
  int id_batch = 1000;            // inode / slice ids taken from the counter per transaction
  bool background_jobs = true;    // session cleanup, deleted-file cleanup, trash expiry
  // How long an inode this client created answers GetXattr with kNoData without asking the
  // engine (xattr_cache.h); 0 turns it off.
  int no_xattr_cache_ms = 1000;
  // How long the attrs this client's own commits wrote to a directory answer the kernel's
  // GETATTRs of it without asking the engine (dir_attr_cache.h); 0 turns it off. Other
  // mounts' changes to the directory are seen at most that late.
  int dir_attr_cache_ms = 1000;
  // How long the names this client's own commits left in a directory it created answer
  // lookups of absent names without asking the engine (dir_names_cache.h); 0 (the default)
  // turns it off. Another client's new name there is reported absent at most that long, so
  // only the FUSE mount turns it on (at most 1 s and its --attr-timeout); the S3 gateway and
  // the tools read every name from the engine.
  int dir_names_cache_ms = 0;
  // The source of all time in Meta (default the system clock). Not owned; must outlive the
  // Meta. Tests pass a FakeClock.
  Clock* clock = SystemClock::Get();
  Status Validate() const;
};

// One file in the trash, as Meta::ListTrash reports it.
struct TrashEntry {
  std::string hour;         // the hour directory's name, YYYY-MM-DD-HH (UTC)
  std::string name;         // the entry's name in it: {parent}-{ino}-{original name}
  Ino hour_ino = 0;
  Ino ino = 0;
  Ino parent = 0;           // the original parent directory (from the name)
  std::string parent_path;  // its path now, "" when it no longer exists
  std::string original;     // the original name (cut when the entry's name was cut at 255)
  Attr attr;                // owner, length; ctime is the deletion time unless changed since
};

class Meta : public SliceLog {  // the data path sees only SliceLog (slice_log.h)
 public:
  // Writes the settings record (and the root directory when new). Refuses (kAlreadyExists) a
  // re-format with a different name, block size or compression unless force; a re-format with
  // the same values updates the changeable settings.
  // The root directory's times come from `clock`.
  static Status Format(kv::KvEngine& engine, const VolumeFormat& format, bool force,
                       const Clock& clock = *SystemClock::Get());
  // Loads the settings; kNotFound "volume is not formatted" when there are none.
  static Result<VolumeFormat> LoadFormat(kv::KvEngine& engine);

  // REQUIRES: the volume is formatted. The engine is shared (the caller may keep it).
  static Result<std::unique_ptr<Meta>> Open(std::shared_ptr<kv::KvEngine> engine,
                                            const MetaOptions& options);
  ~Meta();
  Meta(const Meta&) = delete;
  Meta& operator=(const Meta&) = delete;

  const VolumeFormat& format() const { return format_; }
  // The engine as Meta uses it (wrapped for quota enforcement: quota_kv.h).
  kv::KvEngine& engine() { return *engine_; }
  // Applies fn to the stored settings in one transaction (strata config).
  Status UpdateFormat(const std::function<Status(VolumeFormat&)>& fn);

  // ---- Sessions (sessions.cc, session_manager.h). A read-write client calls NewSession
  // once; Meta then keeps a heartbeat thread and, when options.background_jobs, cleans up
  // expired sessions of other clients (releases their locks, deletes their sustained inodes)
  // as the elected cleaner, and runs the other cleanup jobs (deleted files, trash expiry).
  Status NewSession(const SessionInfo& info);
  Status CloseSession();  // also called by the destructor
  uint64_t session_id() const { return sessions_.id(); }
  Result<std::vector<SessionInfo>> ListSessions();
  // Writeback staging in the session record (SessionManager::SetStagingReporter/PublishSoon).
  void SetStagingReporter(std::function<SessionStaging()> reporter) {
    sessions_.SetStagingReporter(std::move(reporter));
  }
  void PublishSessionSoon() { sessions_.PublishSoon(); }
  // Cleans up the other sessions whose heartbeat expired before `now_unix` (each one logged);
  // returns how many. One that fails is logged and the rest are still tried; the first error
  // is returned.
  Result<int> CleanupExpiredSessions(int64_t now_unix);

  // ---- Namespace (entry_ops.cc, unlink.cc, rename.cc, readdir.cc, attr_ops.cc)
  // Lookup handles "." and "..".
  Result<Entry> Lookup(const Context& ctx, Ino parent, const std::string& name);
  // The directory at a volume path ("a/b", "/a/b"; empty and "." parts skipped), walked as
  // root. Lookup's error for a missing part; kNotDir naming the part that is not a directory.
  Result<Ino> ResolveDir(const std::string& path);
  Result<Attr> GetAttr(Ino ino);
  // The attr of directory `ino` as this client's last commit wrote it, when that is younger
  // than max_age and options.dir_attr_cache_ms (dir_attr_cache.h); nullopt otherwise (ask
  // GetAttr). For answering the kernel's GETATTRs; everything else reads the engine.
  std::optional<DirAttrCache::Hit> CachedDirAttr(Ino ino, std::chrono::nanoseconds max_age);
  Result<Attr> SetAttr(const Context& ctx, Ino ino, const SetAttrRequest& req);
  // F_OK=0, R_OK=4, W_OK=2, X_OK=1.
  Status Access(const Context& ctx, Ino ino, int mask);
  // type: regular, fifo, socket, block/char device. mode: permission bits (umask applied).
  Result<Entry> Mknod(const Context& ctx, Ino parent, const std::string& name, FileType type,
                      uint32_t mode, uint32_t rdev);
  Result<Entry> Mkdir(const Context& ctx, Ino parent, const std::string& name, uint32_t mode);
  Result<Entry> Symlink(const Context& ctx, Ino parent, const std::string& name,
                        const std::string& target);
  Result<std::string> ReadLink(Ino ino);
  Result<Entry> Link(const Context& ctx, Ino ino, Ino new_parent, const std::string& new_name);
  Status Unlink(const Context& ctx, Ino parent, const std::string& name);
  Status Rmdir(const Context& ctx, Ino parent, const std::string& name);
  Status Rename(const Context& ctx, Ino parent, const std::string& name, Ino new_parent,
                const std::string& new_name, uint32_t flags);
  // Entries after `cursor` ("" = from the start), at most `limit`; "." and ".." are not
  // included (the VFS adds them). With plus, each entry carries its Attr.
  Result<ReaddirPage> Readdir(const Context& ctx, Ino dir, const std::string& cursor,
                              size_t limit, bool plus);
  Result<StatFs> GetStatFs(const Context& ctx, Ino ino);
  Result<DirUsage> GetDirUsage(Ino dir);
  // Early quota check for write() (usage.cc): kQuotaExceeded / kNoSpace when growing a file
  // of directory `dir` by `bytes` would pass a quota over it or the volume's capacity, as this
  // client sees them (quota_kv.h). No engine round trip unless it looks over (then the usage
  // is re-read before refusing); the commit of the data checks again in any case.
  Status CheckGrowth(Ino dir, uint64_t bytes);

  // ---- Trash administration (trash_admin.cc; `strata trash`). Reads and renames only.
  // Every trashed file whose original parent is `under` or lies below it (kRootIno: every
  // one, also those whose parent is gone), hour by hour, each hour in name order. Each page of
  // entries and each attr is read in its own read-only transaction (not one snapshot).
  Result<std::vector<TrashEntry>> ListTrash(Ino under = kRootIno);
  // Moves trash entry `hour`/`name` into directory `to` (0: the original parent) under its
  // original name, as a rename by ctx that never replaces: kAlreadyExists when the name is
  // taken, kNotFound when the entry or the directory is gone, kInvalidArgument for a name that
  // is not a trash entry's. Returns the restored file.
  Result<Entry> RestoreTrash(const Context& ctx, const std::string& hour, const std::string& name,
                             Ino to = 0);

  // ---- Open files (open_files.cc). Open checks access for the flags (O_RDONLY/O_WRONLY/O_RDWR,
  // O_TRUNC needs write) and counts the open in this client, so an unlinked open file keeps
  // its data until the last Close (or this session's expiry).
  Result<Attr> OpenFile(const Context& ctx, Ino ino, int flags);
  // Counts the creating open of an inode this client just made (Mknod returned `attr`, the
  // attr its commit wrote): no transaction, as the create checked everything already.
  void OpenCreated(Ino ino) { open_files_.Add(ino); }
  Status CloseFile(Ino ino);

  // ---- File data (slices.cc, truncate.cc, copy.cc)
  Result<uint64_t> NewSliceId() override;
  // The chunk's slice list in commit order (empty when the chunk was never written).
  Result<std::vector<Slice>> ReadChunk(Ino ino, uint32_t chunk_index) override;
  // Appends a slice to the chunk and grows the length to cover it, sets mtime/ctime, updates
  // usage. One transaction (the group-commit seam). kNoSpace/kQuotaExceeded when over limits.
  Status WriteSlice(Ino ino, uint32_t chunk_index, const Slice& slice,
                    const Timespec& mtime) override;
  Status Truncate(const Context& ctx, Ino ino, uint64_t length);
  Status Fallocate(const Context& ctx, Ino ino, uint32_t mode, uint64_t offset, uint64_t length);
  // Shares the source's slices with the destination (reference counts); returns bytes copied.
  Result<uint64_t> CopyFileRange(const Context& ctx, Ino src, uint64_t src_off, Ino dst,
                                 uint64_t dst_off, uint64_t length);
  // Replaces the chunk's first expected.size() slices by `replacement` if the list still
  // begins with `expected`; kConflict otherwise (the caller then deletes replacement's blocks).
  Status CompactChunk(Ino ino, uint32_t chunk_index, const std::vector<Slice>& expected,
                      const Slice& replacement) override;

  // ---- Garbage (gc.cc): resumable after a crash; the data path deletes blocks.
  // Expands up to `limit` deleted-file records into slice dereferences; returns how many done.
  Result<int> ProcessDeletedFiles(int limit) override;
  // Stored slices whose reference count reached zero (blocks to delete), at most limit.
  Result<std::vector<SliceRef>> PendingSliceDeletions(int limit) override;
  // Called after the slice's blocks are gone from the store.
  Status ConfirmSliceDeleted(const SliceRef& ref) override;
  // SliceLog::Sync: the engine's Sync (fsync's metadata step).
  Status Sync() override { return engine_->Sync(); }

  // ---- Xattrs (xattr.cc). flags: XATTR_CREATE=1, XATTR_REPLACE=2.
  Result<std::string> GetXattr(const Context& ctx, Ino ino, const std::string& name);
  Status SetXattr(const Context& ctx, Ino ino, const std::string& name, const std::string& value,
                  int flags);
  Result<std::vector<std::string>> ListXattr(const Context& ctx, Ino ino);
  Status RemoveXattr(const Context& ctx, Ino ino, const std::string& name);

  // ---- Locks (locks.cc, lock_waiter.h). owner: the lock owner from the kernel; combined
  // with this session id it identifies the holder across clients. block: wait until granted,
  // retrying with back-off on the clock (1 ms doubling to 100 ms) and at once when a lock is
  // released in this client. `interrupted` (may be empty) is polled between attempts; when
  // it returns true the wait gives up with kInterrupted (EINTR). Closing the session or the
  // Meta also ends waits that way.
  Status Flock(const Context& ctx, Ino ino, uint64_t owner, LockType type, bool block,
               const std::function<bool()>& interrupted = nullptr);
  // F_GETLK: the first conflicting lock, or type kUnlock when none.
  Result<LockRange> GetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& probe);
  Status SetLk(const Context& ctx, Ino ino, uint64_t owner, const LockRange& range, bool block,
               const std::function<bool()>& interrupted = nullptr);
  // Drops every lock this session holds on ino for owner (release / flush).
  Status ReleaseLocks(Ino ino, uint64_t owner);

  // ---- Front-end records (records.cc): small named values a front end keeps with the volume
  // (the S3 gateway's users, grants and public prefixes), key `R{name}` (meta-schema.md).
  // One transaction each. Get: nullopt when absent. Delete: kNotFound when absent. List: every
  // record whose name starts with `prefix`, in name order.
  Result<std::optional<std::string>> GetRecord(const std::string& name);
  Status PutRecord(const std::string& name, const std::string& value);
  Status DeleteRecord(const std::string& name);
  Result<std::vector<std::pair<std::string, std::string>>> ListRecords(const std::string& prefix);

 private:
  Meta(std::shared_ptr<kv::KvEngine> engine, const MetaOptions& options, VolumeFormat format);

  // The elected cleaner's jobs besides session cleanup (sessions.cc): deleted files, trash.
  void RunCleanerJobs();

  // Directory quotas and the volume limits (quota_kv.h): engine_ is the caller's engine
  // wrapped in quota::QuotaKv, which charges every usage change through quota_.
  std::shared_ptr<quota::Tracker> quota_;
  std::shared_ptr<kv::KvEngine> engine_;
  MetaOptions options_;
  VolumeFormat format_;
  Clock* const clock_;  // options_.clock

  // Id allocation in batches (ids.cc): [next, end) taken from the engine's counter.
  struct IdRange {
    std::mutex mu;
    uint64_t next = 0;
    uint64_t end = 0;
  };
  IdRange inode_ids_;
  IdRange slice_ids_;
  Result<uint64_t> NextId(IdRange& range, const std::string& counter);

  OpenFiles open_files_;
  NoXattrCache no_xattrs_;
  std::shared_ptr<DirAttrCache> dir_attrs_;  // registered on engine_ while this Meta lives
  std::shared_ptr<DirNamesCache> dir_names_;  // likewise; answers negative lookups
  // Inside a transaction about to read entry (parent, name): tells the engine the name is
  // believed absent when this client's own commits say so (kv.h ExpectAbsent), so Redis
  // need not ask. Only on the first attempt (`*attempts` counts them): a wrong belief fails
  // that attempt's commit or validation, and the retry reads the entry.
  void ExpectAbsentName(kv::Transaction& txn, Ino parent, const std::string& name,
                        int* attempts);
  LockWaiter lock_waiter_;
  // Last: its thread calls RunCleanerJobs, so it is destroyed (and stopped) first.
  SessionManager sessions_;

  friend class MetaOps;  // per-operation helpers in the .cc files
};

}  // namespace strata::meta
