// Helpers shared by the per-operation files of Meta (not part of the public API). Each works
// inside a caller's kv::Transaction, so operations compose into one transaction.
//
// Ownership split while the layer is being written: namespace files (attr_ops, entry_ops,
// unlink, rename, readdir, xattr, statfs, permissions, usage) and file-data files (slices,
// truncate, copy, gc, sessions, locks, trash) both use these.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/schema.h"
#include "meta/types.h"

namespace strata::meta::internal {

// The wall time of `clock` (MetaOptions::clock: all of Meta's time comes from it).
Timespec Now(const Clock& clock);
// Sets a directory's mtime and ctime for a change of its entries: `now`, or 1 ns past its
// ctime when the clock is not past it (a slow clock, another machine's): each entry change
// leaves a different attr record, which meta/dir_names_cache.h relies on to tell another
// client's change from its own last one.
void TouchDir(Attr& dir, const Timespec& now);

// kNotFound when absent.
Result<Attr> ReadAttr(kv::Transaction& txn, Ino ino);
void WriteAttr(kv::Transaction& txn, Ino ino, const Attr& attr);

// Permission check as the kernel does with default_permissions off. mask: R=4 W=2 X=1.
// Root passes everything except X on a file with no x bit at all.
Status CheckAccess(const Context& ctx, const Attr& attr, int mask);
// Sticky-directory rule for removing/renaming `victim` out of `dir`.
Status CheckSticky(const Context& ctx, const Attr& dir, const Attr& victim);
// Name rules: not empty, no '/', not "." or "..", at most kMaxNameLen bytes.
Status CheckName(const std::string& name);

// Adds deltas to the usage record of directory `dir` and the volume counters
// (usedSpace/usedInodes, in the shard of `dir`: namespace_util.h). Writes inside txn.
Status UpdateUsage(kv::Transaction& txn, Ino dir, int64_t bytes, int64_t inodes);
// A U{ino} record's value (16 bytes: bytes, inodes); absent or malformed reads as zero.
DirUsage DecodeUsage(const std::optional<std::string>& raw);

// Called inside the transaction that drops an inode's last link (nlink reached 0; the attr
// record is still present). If the inode is open in this client (sustained), records
// SS{sid}{ino} and keeps the attr (nlink 0); otherwise writes D{ino}{length} (regular files
// with length > 0 only: nothing else has chunk lists) and deletes the inode's
// records except chunk lists (released later by ProcessDeletedFiles), or with the trash
// enabled the namespace layer moves it to the trash instead of calling this. `now_unix`
// (seconds) is recorded in the D record as the deletion time.
// Defined in gc.cc.
Status ReleaseInode(kv::Transaction& txn, Ino ino, const Attr& attr, uint64_t session_id,
                    bool is_open, int64_t now_unix);

// Decrements the reference count of a stored slice; at zero moves it to G{id}{size}.
Status DerefSlice(kv::Transaction& txn, uint64_t id, uint32_t size);
// Increments (copy_file_range, compaction bookkeeping).
Status RefSlice(kv::Transaction& txn, uint64_t id, uint32_t size);

// ---- Trash (trash.cc; docs/format/meta-schema.md "Trash").
// The hour directory /.trash/{YYYY-MM-DD-HH} (UTC) holding files trashed at unix_sec.
Ino TrashHourIno(int64_t unix_sec);
// Called INSTEAD of dropping the last link of a regular file when format().trash_days > 0:
// the caller has deleted the entry `name` in `parent` (and updated parent's attr); this moves
// the file to /.trash/{hour}/{parent}-{ino}-{name}: creates the trash directories when
// missing, moves the file's usage from parent to the hour directory (volume usage unchanged:
// the data still exists), sets a.nlink = 1, a.parent = hour dir, a.ctime = now, and writes a.
// Directories are never trashed (kInvalidArgument).
Status MoveToTrash(kv::Transaction& txn, Ino ino, Attr& a, Ino parent, const std::string& name,
                   const Timespec& now);

}  // namespace strata::meta::internal
