// UsageTree: bytes and inodes of every directory's whole subtree, from the directory usage
// records (U{ino}, docs/format/meta-schema.md "Usage") in one pass, for `strata usage` (what
// billing reads). No entry of the namespace is listed: a volume of 100 M files with 1 M
// directories costs one scan of 1 M usage records plus one attribute read per record (in
// batches), and memory of about 64 bytes per directory holding anything.
//
// U{dir} counts only the entries directly in dir; a subtree's totals are the sum over the
// directories in it. Every non-empty directory appears: a directory holding a subdirectory has
// a record, since the subdirectory is one of its inodes. The hidden /.trash hangs below the
// root (its parent field), so the root's totals are the whole volume's, trash included.
//
// Like every offline scan (scan.h), pages are read in separate read-only transactions: on a
// volume being changed the totals are each exact for some moment, not one snapshot.
//
// Thread-safety: Build is stateless; a built tree is read-only. Errors: the engine's,
// kCorruption for a record that does not decode.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta::scan {

class UsageTree {
 public:
  struct Node {
    Ino parent = 0;
    DirUsage direct;  // the entries directly in the directory
    DirUsage total;   // the whole subtree below it (the directory itself not counted)
  };

  static Result<UsageTree> Build(kv::KvEngine& engine);

  // The subtree totals of `dir` (zero for a directory holding nothing).
  DirUsage Total(Ino dir) const;
  DirUsage Direct(Ino dir) const;
  size_t size() const { return nodes_.size(); }

 private:
  std::unordered_map<Ino, Node> nodes_;
};

}  // namespace strata::meta::scan
