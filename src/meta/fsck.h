// Fsck: the metadata half of `strata fsck` (docs/operations.md "fsck"). It proves the
// namespace and the bookkeeping records agree with each other; the store half (every
// referenced block exists with the right size) is done by the caller with the slice table
// this returns, since block naming belongs to the data path (chunk/block_key.h).
//
// Checks, on the whole volume:
//  - directory entries: each names an existing inode of the entry's type (dangling entries);
//    each directory is named by one entry, and its parent field is that entry's directory;
//  - directories: nlink == 2 + subdirectories; U{dir} == bytes and inodes of its entries;
//  - non-directories: nlink == number of entries naming it; parent / A{ino}P records as
//    docs/format/meta-schema.md says (parent = the one directory, or 0 and per-directory
//    counts when hard-linked);
//  - orphans: an inode with nlink > 0 that no walk from / or /.trash reaches; an inode with
//    nlink 0 held by no SS (sustained) record; chunk lists or other records of an inode that
//    has no attribute and no D (pending deletion) record; a D record of a live inode;
//  - slice references: K{id}{size} == the number of chunk records naming the slice (absent =
//    1); no K record for an unused slice; no G (to delete) record for a used one;
//  - the volume counters (usedSpace, usedInodes, summed over their shards) == the sum over
//    every inode with nlink > 0 (root and trash directories excluded).
// With `path` set, only the subtree is walked and only the checks local to it run
// (entries, directory nlink and usage, the slice table of its files); the others are listed
// in FsckResult::skipped.
//
// Repair (options.repair) fixes what is safe, each fix one transaction: drops dangling and
// duplicate entries, rewrites entry types and parent fields, sets nlink and hard-link
// records to what the entries say, rewrites U records and the volume counters from what was
// counted, fixes K records (an unused one becomes G so its blocks are deleted), drops G
// records of used slices, releases unheld nlink-0 inodes (as an unlink would), hands chunk
// lists of missing inodes to the deleted-file cleaner (a D record), and moves orphans to
// /lost+found (created when missing) named "#INO" ("#INO.N" when taken).
// REQUIRES for exact results and for repair: no client is writing the volume (the CLI
// refuses --repair while sessions are live); scans are paginated, not one snapshot.
//
// Memory: one page of keys (options.page); a bitmap of 1 bit per inode id (allocated per
// 64 Ki-id range touched) for reached inodes and one for visited directories; the walk's
// stack (at most one entry per directory, with its path); an entry per hard-linked or
// inconsistent inode; the D and SS record lists; 32 bytes per distinct referenced slice
// (scan::SliceTable); at most options.max_problems problem records.
//
// Thread-safety: RunFsck may run concurrently with anything; it only reads the engine
// (except repairs). Errors: the engine's (kUnavailable/kTimeout), kNotFound / kNotDir for a
// bad `path`, kCorruption when the root directory or a record the walk needs cannot be
// decoded. Problems found are not errors: they are in the result.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/scan.h"
#include "meta/types.h"

namespace strata::meta {

struct FsckProgress {
  const char* phase = "";  // "walk", "inodes", "references", "orphans"
  uint64_t dirs = 0;       // directories listed
  uint64_t entries = 0;    // entries checked
  uint64_t inodes = 0;     // inodes scanned (whole-volume pass)
};

struct FsckOptions {
  bool repair = false;               // fix what is safe (see above)
  std::string path;                  // "" or "/": the whole volume; else "/a/b", that subtree only
  size_t page = scan::kDefaultPage;  // keys per scan page (and per transaction)
  size_t max_problems = 100000;      // problems kept in the result (all are counted)
  // Called after every 256 directories listed or inodes scanned; may be empty.
  std::function<void(const FsckProgress&)> progress;
};

struct FsckProblem {
  std::string kind;    // stable short name, e.g. "dangling-entry", "nlink", "dir-usage"
  Ino ino = 0;         // the inode concerned (0 when it is about a key or a counter)
  std::string where;   // a path, "inode N" or a key description
  std::string detail;  // what is wrong: expected vs found
  bool repaired = false;
  // "KIND WHERE: DETAIL[ (repaired)]" on one line.
  std::string ToString() const;
};

struct FsckResult {
  bool whole_volume = true;
  std::vector<FsckProblem> problems;  // at most options.max_problems
  uint64_t problem_count = 0;         // all problems found
  uint64_t repaired_count = 0;
  std::vector<std::string> skipped;  // checks not run (with a path), one phrase each
  scan::SliceTable slices;           // every referenced slice (of the subtree with a path)
  uint64_t dirs = 0, files = 0, entries = 0, inodes = 0;  // counted by the walk / the scan
  uint64_t bytes = 0;                                     // sum of regular-file lengths counted
  Ino lost_found = 0;                                     // /lost+found when repair used it

  // Records a problem (kept up to the limit, always counted).
  void Add(FsckProblem p, size_t max_problems);
};

// Checks (and with options.repair, repairs) the volume in `engine`. REQUIRES: formatted.
Result<FsckResult> RunFsck(kv::KvEngine& engine, const FsckOptions& options);

}  // namespace strata::meta
