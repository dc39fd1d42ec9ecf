// Volume::Impl: the state behind vfs::Volume, shared by the operation files
// (volume.cc: open/close and inode mapping; namespace_ops.cc; file_ops.cc; dir_ops.cc;
// xattr_lock_ops.cc).
//
// Thread-safety: inode table and handle table each have their own mutex (lock order: inodes
// -> handles -> one handle's mutex). None is held across a Meta or ChunkStore call, except a
// dir handle's mutex around its page fetch (one reader per handle at a time). A file
// handle's ReadState guards itself (chunk/reader.h): reads of one handle run concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chunk/chunk_store.h"
#include "meta/meta.h"
#include "object/object_store.h"
#include "vfs/vfs.h"

namespace strata::vfs {

// The attr as stat shows it. A regular file whose one link is in a trash hour directory
// (/.trash/{hour}, inodes above kTrashIno) was unlinked: it reports nlink 0, as POSIX says of
// an unlinked file that is still open (fstat after unlink; pjdfstest unlink/14.t), so the
// trash on gives what the trash off gives (there the kept record itself has nlink 0). The
// trashed record keeps nlink 1 (its trash entry), which meta's own bookkeeping (restore by
// rename, expiry) counts on.
inline meta::Attr ShownAttr(meta::Attr a) {
  if (a.type == meta::FileType::kRegular && a.nlink == 1 && a.parent > meta::kTrashIno) {
    a.nlink = 0;
  }
  return a;
}

// What this client knows of an inode between calls.
struct InodeState {
  uint64_t refs = 0;      // kernel lookup count
  int open_handles = 0;   // file handles open on it
  // The largest length this client has seen or written (meta length of the last getattr or
  // open, raised by local writes, set by truncate). Read-your-writes for reads after a flush.
  std::optional<uint64_t> length;
  // This client took a POSIX lock on the inode: close() must then release the owner's locks
  // (a metadata transaction that every other close can skip).
  bool posix_locked = false;
  // mtime and length at the last open, for keep_cache.
  bool have_open_attr = false;
  meta::Timespec open_mtime;
  uint64_t open_length = 0;
};

// One open file description (what the kernel's struct file is to a local file system).
struct FileHandle {
  meta::Ino ino = 0;  // volume inode
  int flags = 0;
  // The file's directory at open (0 when hard-linked): write() asks its quotas early
  // (Meta::CheckGrowth) before accepting data that would pass one.
  meta::Ino parent = 0;
  // This description's view of the file's write-error sequence (chunk/writer.h "Write
  // errors", Linux's file->f_wb_err): taken at open (before the handle is shared), then
  // read and advanced only inside the DataWriter's calls, under its lock.
  chunk::ErrorCursor wb_err;
  std::mutex mu;  // guards flock_owner (read_state has its own lock)
  chunk::ReadState read_state;
  std::optional<uint64_t> flock_owner;  // set once flock was used through this handle
};

// An open directory: a bounded window over the listing, not the whole listing.
//
// Every item of the handle's listing has a sequence number: 1 = ".", 2 = "..", then 3, 4, ...
// for the entries in name order. The offset handed to the caller with an item is its sequence
// number, so "resume after offset s" means "continue with item s + 1". The handle keeps only
// the entries [first_seq, first_seq + window.size()) and the meta cursor that continues after
// the window (`next_cursor`, the last name scanned), so memory stays at about two meta pages
// whatever the directory's size. A resume inside the window costs nothing; a resume just past
// it fetches the next page from the cursor; a resume before it (seekdir far back) restarts the
// listing from the start and skips forward, which is O(position). Because pages continue from
// a name cursor, entries created or removed while the listing runs never make an entry appear
// twice, and an entry that exists throughout is always seen.
struct DirHandle {
  meta::Ino ino = 0;  // volume inode
  std::mutex mu;      // guards everything below; held across the page fetch
  bool loaded_dots = false;
  meta::Ino dotdot = 0;
  uint64_t first_seq = 3;  // sequence number of window[0] (or of the next entry if empty)
  std::vector<meta::DirEntry> window;
  std::string next_cursor;  // meta cursor after the window ("" = from the start)
  bool eof = false;         // nothing follows the window
  // Diagnostics (Volume::DirStats).
  size_t max_window = 0;
  uint64_t pages = 0;
};

class Volume::Impl {
 public:
  VolumeOptions options;
  std::shared_ptr<kv::KvEngine> engine;
  std::unique_ptr<meta::Meta> meta;
  std::shared_ptr<object::ObjectStore> store;
  std::unique_ptr<chunk::ChunkStore> chunks;  // destroyed before meta (declared after)
  meta::Ino root = meta::kRootIno;            // volume inode shown as kRootIno
  std::unique_ptr<VirtualFiles> virt;         // .stats, .accesslog, .config (client inodes)

  // Client inode <-> volume inode. With a subdir, kRootIno and the subdir's inode swap.
  meta::Ino ToVol(meta::Ino client) const {
    if (root == meta::kRootIno) return client;
    if (client == meta::kRootIno) return root;
    if (client == root) return meta::kRootIno;
    return client;
  }
  meta::Ino ToClient(meta::Ino vol) const { return ToVol(vol); }  // the swap is its own inverse

  Status CheckWritable() const;
  // Attr with this client's view of the length (pending writes, local writes) and records it.
  meta::Attr Overlay(meta::Ino vol, meta::Attr attr);
  // Entry in client inode numbers, with Overlay applied.
  meta::Entry ClientEntry(const meta::Entry& e);
  // The length this client should read up to.
  uint64_t KnownLength(meta::Ino vol);
  void SetKnownLength(meta::Ino vol, uint64_t length);
  void RaiseKnownLength(meta::Ino vol, uint64_t end);
  // Re-reads the attr after an operation that changed the length.
  Status RefreshLength(meta::Ino vol);

  std::shared_ptr<FileHandle> GetFile(uint64_t fh);
  std::shared_ptr<DirHandle> GetDir(uint64_t fh);
  uint64_t AddFile(std::shared_ptr<FileHandle> h);
  uint64_t AddDir(std::shared_ptr<DirHandle> h);

  std::mutex inodes_mu;
  std::map<meta::Ino, InodeState> inodes;  // keyed by volume inode

  std::mutex handles_mu;
  std::map<uint64_t, std::shared_ptr<FileHandle>> files;
  std::map<uint64_t, std::shared_ptr<DirHandle>> dirs;
  std::atomic<uint64_t> next_fh{1};

  // Drops the inode's state when nothing refers to it. REQUIRES: inodes_mu held.
  void MaybeDropLocked(meta::Ino vol);

  // ---- The trash under a --subdir mount (volume.cc): `.trash` at the mounted root is the
  // volume's trash, showing only files whose original parent lies inside the subtree (an
  // agent sees its own deleted files and nobody else's).
  // True when this mount shows only a subtree (so the trash view is filtered).
  bool FiltersTrash() const { return root != meta::kRootIno; }
  // True when `dir` is a trash hour directory (below /.trash).
  static bool IsTrashHour(meta::Ino dir) { return dir > meta::kTrashIno; }
  // True when the trash entry `name` ("{parent}-{ino}-{name}") of an hour directory belongs to
  // this mount's subtree. Always true without a subdir.
  bool TrashEntryVisible(const std::string& name);
  // True when volume inode `dir` is the mounted root or lies below it.
  bool InSubtree(meta::Ino dir);

  // strata.info for the virtual xattr.
  Result<std::string> Info(const meta::Context& ctx, meta::Ino vol);
};

}  // namespace strata::vfs
