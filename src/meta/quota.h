// Directory quota administration (`strata quota`, the CSI controller): set, get, list,
// delete and check the Q{ino} records (quota_record.h; enforcement is quota_kv.h).
//
// Set/Delete are one transaction each and bump the quota epoch, so every client drops its
// cached quota map at its next charge. A new quota starts from the subtree's usage as the
// usage records say (the sum of U{d} below it, read in the same transaction: a concurrent
// change in the subtree conflicts with it, and the set retries).
//
// Check recomputes, from the tree itself (entries and attrs, read page by page in read-only
// transactions, like fsck), the direct usage of every directory below the quota and the
// subtree total, and reports where the U{d} records or the quota's used fields differ; with
// repair it writes the recomputed values (one transaction per quota). On a volume being
// changed meanwhile the figures are each exact for some moment, not one snapshot: check a
// quiet subtree, as fsck.
//
// Thread-safety: stateless functions over a thread-safe Meta. Errors: kNotFound (no such
// directory, no quota), kNotDir, kInvalidArgument (nothing to set), the engine's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/meta.h"
#include "meta/quota_record.h"

namespace strata::meta::quota {

struct Info {
  Ino ino = 0;
  std::string path;
  Record record;
};

// Creates or changes the quota of directory `path`; a field left nullopt keeps its value (0
// for a new quota: unlimited). Returns the record as written.
Result<Info> Set(Meta& meta, const std::string& path, std::optional<uint64_t> max_bytes,
                 std::optional<uint64_t> max_inodes);
Result<Info> Get(Meta& meta, const std::string& path);
Result<Info> GetByIno(Meta& meta, Ino dir);
// Every quota, by inode; each with its path now.
Result<std::vector<Info>> List(Meta& meta);
Status Delete(Meta& meta, const std::string& path);

struct DirFix {
  Ino dir = 0;
  DirUsage recorded;  // U{dir}
  DirUsage computed;  // from its entries
};
struct CheckResult {
  Info quota;             // as recorded before any repair
  DirUsage computed;      // the subtree's usage from the tree
  std::vector<DirFix> dirs;  // directories whose U record differs
  bool repaired = false;
  bool ok() const {
    return dirs.empty() && computed.bytes == quota.record.used_bytes &&
           computed.inodes == quota.record.used_inodes;
  }
};
// Checks the quota of `path` (every quota when path is empty).
Result<std::vector<CheckResult>> Check(Meta& meta, const std::string& path, bool repair);

}  // namespace strata::meta::quota
