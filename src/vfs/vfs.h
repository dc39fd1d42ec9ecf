// Volume: the inode-level file-system API of one mounted StrataFS volume, with plain types
// only (no libfuse, no struct stat). The FUSE adapter (src/fuse/) and the S3 gateway are thin
// layers over it. A Volume owns the parts the composition root (client::Client) built for it:
// the Meta (and its session), the object store stack, the data path (slice writers and
// readers, block cache) and its background jobs (deleted-file cleanup).
//
// Inode numbers seen by callers are "client inodes": with `subdir` set, the chosen directory
// appears as inode 1 (kRootIno) and the volume's real root is never reachable ("..", of the
// root is the root itself).
//
// File handles: Open/Create return a handle id; Read/Write/Flush/Fsync/Release take it. All
// handles of one inode share one OpenFile (the data path's writer and reader), so writes through
// one handle are visible to reads through another at once (read-your-writes in this client).
// Flush (close) of a handle open for writing uploads and commits every pending slice of the
// file (DESIGN.md §6). Write errors follow errseq rules (chunk/writer.h): each handle open when
// an upload or commit failed gets the error once, at its next Flush (handles open for writing)
// or Fsync (any handle); Release drops the handle.
//
// Errors: Status codes of common/status.h as Meta documents them; kBadHandle for an unknown
// handle; kReadOnly for a mutation on a read-only volume.
//
// Thread-safety: every method may be called concurrently from many threads. Lock order:
// inode table -> open file -> handle. No lock is held across a metadata transaction or an
// object-store call except an OpenFile's own data-path lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "chunk/chunk_store.h"
#include "meta/kv/kv.h"
#include "meta/meta.h"
#include "meta/types.h"
#include "object/object_store.h"
#include "vfs/virtual_files.h"

namespace strata::vfs {

using meta::Attr;
using meta::Context;
using meta::Entry;
using meta::FileType;
using meta::Ino;
using meta::kRootIno;

struct VolumeOptions {
  std::string mount_point;         // recorded in the session ("" for tools)
  std::string subdir;              // "" = the whole volume; else "a/b" mounted as the root
  bool read_only = false;          // every mutation returns kReadOnly; no session is written
  std::string version = "0.1.0";   // recorded in the session
  // Cache group membership recorded in the session (set by the client when it serves in a
  // group; meta::SessionInfo): group name, peer HOST:PORT, cache size. "" = not serving.
  std::string cache_group;
  std::string peer_address;
  uint64_t cache_weight = 0;
  Status Validate() const;
};

// What a Volume is made of, built by the composition root (client/client.h) and handed over
// whole: the Volume owns them from then on. `chunks` uses `meta` and `store` and is destroyed
// first.
struct VolumeParts {
  std::shared_ptr<kv::KvEngine> engine;
  std::unique_ptr<meta::Meta> meta;
  std::shared_ptr<object::ObjectStore> store;
  std::unique_ptr<chunk::ChunkStore> chunks;
  // What `.stats` and `.config` at the mount root show (virtual_files.h); may be left empty.
  VirtualSources virtual_sources;
};

// One directory entry as ReadDir returns it. `offset` is what the caller passes back to
// resume after this entry (seekdir/telldir cookie): stable for the life of the handle.
struct DirItem {
  std::string name;
  Ino ino = 0;
  FileType type = FileType::kRegular;
  std::optional<Attr> attr;  // with plus (not for "." and "..": those carry attr too)
  uint64_t offset = 0;
};

struct OpenResult {
  uint64_t fh = 0;
  // The file's mtime and length are what they were when this client last opened it, so a
  // page cache kept by the caller (the kernel) is still right.
  bool keep_cache = false;
  bool direct_io = false;  // O_DIRECT was asked for
};

struct CreateResult {
  Entry entry;
  OpenResult open;
};

class Volume {
 public:
  // Takes over the parts (all non-null), resolves the subdir (kNotFound / kNotDir) and starts
  // the session (read-write only). The composition root (client::Client) builds the parts.
  static Result<std::unique_ptr<Volume>> Open(VolumeParts parts, const VolumeOptions& options);
  // Flushes every open file (errors logged), stops background jobs, closes the session.
  ~Volume();
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;

  // Flushes every open file; returns the first error. Called on unmount before the destructor.
  Status FlushAll();

  const std::string& name() const;
  uint32_t block_size() const;
  bool read_only() const;
  // The data path and the metadata this volume was given (for the composition root's
  // metrics and for tools); owned by the volume.
  chunk::ChunkStore* chunk_store();
  meta::Meta* meta();
  // `.stats`, `.accesslog`, `.config` (virtual_files.h): the front ends feed the access log.
  VirtualFiles& virtual_files();
  // File handles open now (the virtual files' excluded), for the open-files gauge.
  size_t open_file_handles();

  // ---- Namespace
  Result<Entry> Lookup(const Context& ctx, Ino parent, const std::string& name);
  Result<Attr> GetAttr(const Context& ctx, Ino ino);
  // GetAttr for the kernel's GETATTR: a directory's attrs may come from this client's own last
  // commit of them (meta/dir_attr_cache.h) when that is younger than `max_age` (the kernel's
  // attr timeout); *age says how old the answer is (0 when read from the engine), so the
  // reply can shorten the kernel's timeout by it.
  Result<Attr> GetAttrForKernel(const Context& ctx, Ino ino, std::chrono::nanoseconds max_age,
                                std::chrono::nanoseconds* age);
  // req.mask kSetSize truncates through meta and drops the data path's cached view. With the
  // handle of a file opened for writing (ftruncate), the size change needs no permission check
  // (the open had it).
  Result<Attr> SetAttr(const Context& ctx, Ino ino, const meta::SetAttrRequest& req,
                       std::optional<uint64_t> fh = std::nullopt);
  Status Access(const Context& ctx, Ino ino, int mask);
  Result<Entry> Mknod(const Context& ctx, Ino parent, const std::string& name, FileType type,
                      uint32_t mode, uint32_t rdev);
  Result<Entry> Mkdir(const Context& ctx, Ino parent, const std::string& name, uint32_t mode);
  Result<Entry> Symlink(const Context& ctx, Ino parent, const std::string& name,
                        const std::string& target);
  Result<std::string> ReadLink(const Context& ctx, Ino ino);
  Result<Entry> Link(const Context& ctx, Ino ino, Ino new_parent, const std::string& new_name);
  Status Unlink(const Context& ctx, Ino parent, const std::string& name);
  Status Rmdir(const Context& ctx, Ino parent, const std::string& name);
  Status Rename(const Context& ctx, Ino parent, const std::string& name, Ino new_parent,
                const std::string& new_name, uint32_t flags);
  Result<meta::StatFs> StatFs(const Context& ctx, Ino ino);

  // ---- Files. flags as open(2): O_ACCMODE, O_APPEND, O_TRUNC, O_DIRECT (O_CREAT/O_EXCL for
  // Create). Create fails with kAlreadyExists when the name exists (the kernel asks Create
  // only for O_CREAT when lookup missed, or with O_EXCL).
  Result<OpenResult> OpenFile(const Context& ctx, Ino ino, int flags);
  Result<CreateResult> Create(const Context& ctx, Ino parent, const std::string& name,
                              uint32_t mode, int flags);
  // Reads up to size bytes at off into out (resized to what was read; short at EOF). A read
  // of `.accesslog` waits for lines until `interrupted` (may be empty) says to give up.
  Status Read(const Context& ctx, Ino ino, uint64_t fh, uint64_t off, size_t size,
              std::string* out, const std::function<bool()>& interrupted = {});
  // The same as pieces of the cached blocks (chunk/read_buffer.h): no copy of the bytes, for
  // a reply by writev. Several reads of one handle may run at once.
  Status ReadInto(const Context& ctx, Ino ino, uint64_t fh, uint64_t off, size_t size,
                  chunk::ReadBuffer* out, const std::function<bool()>& interrupted = {});
  // Writes data at off (at the current length for O_APPEND handles); returns bytes written.
  Result<size_t> Write(const Context& ctx, Ino ino, uint64_t fh, uint64_t off,
                       std::string_view data);
  // close(): uploads and commits everything written to this file (handles open for writing)
  // and reports a write error this handle has not been told of; drops the owner's POSIX
  // locks (lock_owner as the kernel gives it).
  Status Flush(const Context& ctx, Ino ino, uint64_t fh, uint64_t lock_owner);
  // Last close of the handle. Drops flock locks held through it.
  Status Release(Ino ino, uint64_t fh);
  // fsync/fdatasync: Flush plus making store and engine durable against power loss. Handles
  // opened with O_SYNC or O_DSYNC do this after every Write.
  Status Fsync(const Context& ctx, Ino ino, uint64_t fh, bool datasync);
  Status Fallocate(const Context& ctx, Ino ino, uint64_t fh, uint32_t mode, uint64_t off,
                   uint64_t len);
  // copy_file_range by sharing slices (metadata only). kCrossDevice (EXDEV: the caller copies
  // the bytes itself) for a virtual source, and while writeback has blocks staged (a staged
  // slice must keep one owner: docs/format/staging.md).
  Result<uint64_t> CopyFileRange(const Context& ctx, Ino ino_in, uint64_t fh_in, uint64_t off_in,
                                 Ino ino_out, uint64_t fh_out, uint64_t off_out, uint64_t len);

  // ---- Directories. Offsets: 0 = start; "." and ".." come first. A handle holds a bounded
  // window of the listing (about two metadata pages), whatever the directory's size.
  Result<uint64_t> OpenDir(const Context& ctx, Ino ino);
  // Items after `offset`, at most `max_items` and at most kDirPage (an empty result is the
  // end). The caller may stop early when its buffer is full and resume from the last offset
  // it consumed, or from any offset this handle returned since its last rewind: a resume
  // inside the current window is free, one before it re-lists from the start and skips
  // forward (O(position)), so such a cookie then names the item at that position in the
  // directory as it is now. Offset 0 (rewinddir) restarts and sees the directory as it is now.
  // In a listing read forwards (resumes only from offsets at or after the window, as the kernel
  // does), entries created or removed meanwhile never make an entry appear twice, and those
  // that exist throughout are all listed. With plus, entries carry their attributes.
  Result<std::vector<DirItem>> ReadDir(const Context& ctx, Ino ino, uint64_t fh, uint64_t offset,
                                       size_t max_items, bool plus);
  Status ReleaseDir(Ino ino, uint64_t fh);
  // fsync of a directory: every namespace change committed so far (its entries among them)
  // survives a power loss when it returns: the metadata engine is synced (KvEngine::Sync).
  // kBadHandle for an unknown directory handle.
  Status FsyncDir(const Context& ctx, Ino ino, uint64_t fh, bool datasync);
  // Entries per metadata page of a listing; a handle holds at most 2 * kDirPage entries.
  static constexpr size_t kDirPage = 1000;
  // What a directory handle holds (diagnostics and tests): entries in its window now, the
  // most it ever held, and how many metadata pages it fetched. kBadHandle for an unknown fh.
  struct DirStats {
    size_t window = 0;
    size_t max_window = 0;
    uint64_t pages = 0;
  };
  Result<DirStats> GetDirStats(uint64_t fh);

  // ---- Xattrs (flags: XATTR_CREATE=1, XATTR_REPLACE=2). "strata.info" is a virtual,
  // read-only attribute describing the file's layout (JSON), for `strata info`.
  Result<std::string> GetXattr(const Context& ctx, Ino ino, const std::string& name);
  Status SetXattr(const Context& ctx, Ino ino, const std::string& name, const std::string& value,
                  int flags);
  Result<std::vector<std::string>> ListXattr(const Context& ctx, Ino ino);
  Status RemoveXattr(const Context& ctx, Ino ino, const std::string& name);

  // ---- Locks, held in metadata (work across mounts). owner: the kernel's lock owner.
  // A blocking request waits in Meta's lock-wait loop (retries with back-off up to 100 ms,
  // at once after a release through this mount) until granted, or returns kInterrupted once
  // `interrupted` says the caller gave up (a signal to the waiting process).
  Status Flock(const Context& ctx, Ino ino, uint64_t fh, uint64_t owner, meta::LockType type,
               bool block, const std::function<bool()>& interrupted = {});
  Result<meta::LockRange> GetLk(const Context& ctx, Ino ino, uint64_t owner,
                                const meta::LockRange& probe);
  Status SetLk(const Context& ctx, Ino ino, uint64_t fh, uint64_t owner,
               const meta::LockRange& range, bool block,
               const std::function<bool()>& interrupted = {});

  // ---- Kernel inode references (FUSE lookup counts). Lookup/Create/Mk*/Link/ReadDir(plus)
  // results count one reference each when `counted` is true in the caller; Forget drops n.
  void AddRef(Ino ino);
  void Forget(Ino ino, uint64_t n);

  class Impl;  // volume_impl.h; opaque to users

 private:
  Result<Attr> SetAttrKillPriv(const Context& ctx, Ino vol_ino, const meta::SetAttrRequest& req);
  explicit Volume(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::vfs
