// Volume::Impl: the state behind vfs::Volume, shared by the operation files
// (volume.cc: open/close and inode mapping; namespace_ops.cc; file_ops.cc; dir_ops.cc;
// xattr_lock_ops.cc).
//
// Thread-safety: inode table and handle table each have their own mutex (lock order: inodes
// -> handles -> one handle's mutex). None is held across a Meta or ChunkStore call, except a
// handle's own mutex around its ReadState during a read and a dir handle's mutex around its
// page fetch (one reader per handle at a time, as the reader requires).
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

struct FileHandle {
  meta::Ino ino = 0;  // volume inode
  int flags = 0;
  std::mutex mu;  // guards read_state and flock_owner
  chunk::ReadState read_state;
  std::optional<uint64_t> flock_owner;  // set once flock was used through this handle
};

struct DirHandle {
  meta::Ino ino = 0;  // volume inode
  std::mutex mu;
  // Every entry loaded so far, in order; index i (0-based) has offset i + 3 ("." is offset
  // 1's item, ".." offset 2's). Loading is lazy, a page at a time, so offsets stay stable for
  // the life of the handle; offset 0 (rewinddir) reloads.
  bool loaded_dots = false;
  meta::Ino dotdot = 0;
  std::vector<meta::DirEntry> entries;
  std::string next_cursor;
  bool eof = false;
  bool plus = false;  // whether the loaded entries carry attributes
};

class Volume::Impl {
 public:
  VolumeOptions options;
  std::shared_ptr<kv::KvEngine> engine;
  std::unique_ptr<meta::Meta> meta;
  std::shared_ptr<object::ObjectStore> store;
  std::unique_ptr<chunk::ChunkStore> chunks;  // destroyed before meta (declared after)
  meta::Ino root = meta::kRootIno;            // volume inode shown as kRootIno

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

  // strata.info for the virtual xattr.
  Result<std::string> Info(const meta::Context& ctx, meta::Ino vol);
};

}  // namespace strata::vfs
