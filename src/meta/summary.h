// Summarize: what `strata summary PATH` prints (like `du`, but from metadata): bytes, inodes
// and directories of a directory's whole subtree, and of each subdirectory down to a depth.
// Lists only directory entries (readdir pages) and reads each directory's usage record U{d}
// (docs/format/meta-schema.md "Usage"): the cost is one page read per 1000 entries and one
// record per directory, with no attr of a file read.
//
// Pages and records are read in separate read-only transactions: on a tree being changed each
// figure is exact for some moment, not one snapshot. Thread-safety: stateless over a
// thread-safe Meta. Errors: Meta's (kNotFound, kNotDir), the engine's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/meta.h"

namespace strata::meta {

struct SummaryRow {
  std::string path;  // `path` given for the top, then "/name" appended per level
  Ino ino = 0;
  int depth = 0;
  int64_t bytes = 0;   // file lengths in the whole subtree
  int64_t inodes = 0;  // entries in the whole subtree
  int64_t dirs = 0;    // directories in the whole subtree (the top not counted)
};

// Rows for `dir` (named `path`) and its subdirectories down to `depth` levels, breadth first.
Result<std::vector<SummaryRow>> Summarize(Meta& meta, Ino dir, const std::string& path,
                                          int depth);

}  // namespace strata::meta
