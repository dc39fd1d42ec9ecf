// Helpers shared by the namespace operations of Meta (entry_ops, unlink, rename, attr_ops,
// xattr, usage). Not part of the public API; internal.h holds what the file-data side shares.
// Each works inside a caller's kv::Transaction so an operation stays one transaction.
//
// Thread-safety: stateless functions; a Transaction belongs to one thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::internal {

// Hard links per inode (ext4's bound); Link returns kTooManyLinks past it.
constexpr uint32_t kMaxLinks = 65000;

// Counter names (the `C{name}` keys). Limits are copies of the settings' quotas, written with
// the `setting` record in one transaction, so a usage check needs no JSON parse.
inline constexpr char kNextInodeCounter[] = "nextInode";
inline constexpr char kNextSliceCounter[] = "nextSlice";
inline constexpr char kUsedSpaceCounter[] = "usedSpace";
inline constexpr char kUsedInodesCounter[] = "usedInodes";
inline constexpr char kCapacityCounter[] = "capacityBytes";
inline constexpr char kMaxInodesCounter[] = "maxInodes";

// The volume usage counters are sharded so that operations in unrelated directories write
// different keys (and optimistic engines do not retry them against each other): the delta of
// an operation goes to `usedSpace/{k}` / `usedInodes/{k}`, k = UsageShard(its directory, or
// the file for a length change). The totals are the sum over all shards plus the unsharded
// `usedSpace` / `usedInodes` of volumes written before sharding (read, never written again).
// A shard may be negative (an inode counted into one shard can leave through another).
inline constexpr int kUsageShards = 16;
inline int UsageShard(Ino ino) { return static_cast<int>(ino % kUsageShards); }
// The key of one shard of kUsedSpaceCounter or kUsedInodesCounter.
std::string UsageShardKey(const char* counter, int shard);
// Every key whose values add up to the volume's used bytes (bytes) or inodes (!bytes): the
// kUsageShards shard keys, then the unsharded key.
std::vector<std::string> VolumeUsageKeys(bool bytes);
// The keys UpdateVolumeUsage reads (the capacity and inode limits): an operation that will
// change usage puts them into its first BatchGet, so the check costs no round trip of its own.
std::vector<std::string> UsageLimitKeys();

inline Status ReadOnlyError() { return Status(Code::kReadOnly, "the volume is mounted read-only"); }

// Decodes a parent directory's attr from a raw record and checks the caller may use it with
// `mask` (R=4 W=2 X=1): kNotFound when absent or already removed, kNotDir, kPermissionDenied.
Result<Attr> CheckDir(const std::optional<std::string>& raw, const Context& ctx, int mask);

// kNotPermitted (EPERM) when `dir` is /.trash or one of its hour directories (inodes from
// kTrashIno up): only Meta's unlink path puts files there, so that every trash entry is a
// trashed file named {parent}-{ino}-{name}. Checked by every create, link and rename target.
inline Status CheckNotIntoTrash(Ino dir) {
  if (dir < kTrashIno) return Status::OK();
  return Status(Code::kNotPermitted, "nothing can be created or moved into the trash");
}

// Usage of one directory only (hard links: entries are counted in each directory).
Status UpdateDirUsage(kv::Transaction& txn, Ino dir, int64_t bytes, int64_t inodes);
// Volume counters only, in the shard of `shard_of` (the directory the change happens in, or
// the file whose length changes). kNoSpace when a positive delta passes capacity or the inode
// limit: with such a limit set the check reads every shard (exact, but then the operation
// conflicts with every other usage change); without one only the own shard is touched.
Status UpdateVolumeUsage(kv::Transaction& txn, Ino shard_of, int64_t bytes, int64_t inodes);

// Bytes a file contributes to usage: its length for regular files, 0 otherwise.
inline int64_t UsageBytes(const Attr& a) {
  return a.type == FileType::kRegular ? static_cast<int64_t>(a.length) : 0;
}

// Hard-link parent records A{ino}P{parent} -> count u32.
Result<uint32_t> ReadParentCount(kv::Transaction& txn, Ino ino, Ino parent);
void WriteParentCount(kv::Transaction& txn, Ino ino, Ino parent, uint32_t count);

// Removes one link of a non-directory `ino` (attr `a`, updated in place) from directory
// `parent`: nlink, hard-link parent records, usage. When the last link goes, releases the
// inode (internal::ReleaseInode) — or, when `trash` is true and it is a regular file outside
// the trash, moves it to the trash (internal::MoveToTrash) under its old `name`.
// The caller deletes the directory entry and updates the parent directory's attr.
Status DropLink(kv::Transaction& txn, Ino ino, Attr& a, Ino parent, const std::string& name,
                bool trash, uint64_t session_id, bool is_open, const Timespec& now);

// Deletes a removed directory's records: attr, xattrs, usage, quota. REQUIRES: it is empty.
Status RemoveDirRecords(kv::Transaction& txn, Ino ino);

}  // namespace strata::meta::internal
