// The checker behind RunFsck (fsck.h), split over fsck.cc (driver, inode pass, orphans,
// counters), fsck_walk.cc (the directory walk) and fsck_refs.cc (links and slice references).
// Not part of the public API.
//
// Ownership: a Checker borrows the engine, the options and the result it fills (all must
// outlive it). Thread-safety: a Checker is used by one thread. Errors: as RunFsck (fsck.h);
// a failed repair is recorded in its problem's detail, not returned.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "meta/fsck.h"

namespace strata::meta::fsck_internal {

// One bit per inode id, stored in 64 Ki-id pages allocated when first touched, so a volume
// whose ids are dense costs ~1 bit per inode and a sparse one only the ranges it uses.
class SparseBitmap {
 public:
  // Sets the bit; returns whether it was set before.
  bool TestAndSet(Ino ino);
  bool Test(Ino ino) const;

 private:
  static constexpr int kPageBits = 16;
  std::unordered_map<uint64_t, std::vector<uint64_t>> pages_;
};

// Entries seen naming a non-directory whose links are not the plain case (one entry, in
// attr.parent, nlink 1): the directories holding them, with counts.
struct LinkInfo {
  std::map<Ino, uint32_t> dirs;
};

// What one directory's listing found: the expected nlink (2 + subdirs) and usage record.
struct DirCounts {
  uint32_t subdirs = 0;
  int64_t bytes = 0;   // lengths of the regular files named (once per entry)
  int64_t inodes = 0;  // entries, trash hour directories excluded
};

class Checker {
 public:
  Checker(kv::KvEngine& engine, const FsckOptions& options, FsckResult* result)
      : engine_(engine), opts_(options), res_(*result) {}
  Status Run();

 private:
  // ---- fsck_walk.cc
  // Walks the tree below `start` (whose path is `path`), checking every directory.
  Status Walk(Ino start, const std::string& path);
  // Lists and checks one directory; pushes its subdirectories onto stack_.
  Status CheckDir(Ino dir, const std::string& path);
  // One entry `name` of dir with its child's raw attr (nullopt: missing); adds to counts.
  Status CheckEntry(Ino dir, const std::string& path, const std::string& name,
                    const kv::KeyValue& entry, const std::optional<std::string>& raw_attr,
                    DirCounts* counts);
  // The directory's own nlink and usage record against what its listing found.
  Status CheckDirRecords(Ino dir, const std::string& path, const DirCounts& counts);
  void NoteLink(Ino child, const Attr& a, Ino dir);
  Result<Ino> ResolvePath(const std::string& path);

  // ---- fsck.cc
  Status LoadPending();  // D and SS records
  Status ScanAllInodes();
  Status CheckGroup(scan::InodeGroup& g);
  Status SettleOrphans();
  Status CheckCounters();
  Status MoveOrphans();
  Result<Ino> LostAndFound();

  // ---- fsck_refs.cc
  Status CheckLinks();
  Status CheckSliceRefs();

  // Records a problem; runs fix in one transaction when repairing (marks it repaired when the
  // fix committed; a failed fix is reported in the detail and does not stop the run).
  void Problem(const std::string& kind, Ino ino, const std::string& where,
               const std::string& detail,
               const std::function<Status(kv::Transaction&)>& fix = nullptr);
  void Progress(const char* phase);

  kv::KvEngine& engine_;
  const FsckOptions& opts_;
  FsckResult& res_;

  SparseBitmap reached_;                            // named by some entry walked (or a walk root)
  SparseBitmap visited_;                            // directories listed
  std::vector<std::pair<Ino, std::string>> stack_;  // directories still to list
  std::unordered_map<Ino, LinkInfo> links_;
  bool orphan_walk_ = false;                                 // walking below orphan directories
  std::set<Ino> orphan_roots_;                               // orphan directories walked so far
  std::vector<Ino> deleted_;                                 // inodes with D records, sorted
  std::vector<Ino> sustained_;                               // inodes with SS records, sorted
  std::vector<std::pair<Ino, FileType>> orphan_candidates_;  // unreached, nlink > 0
  std::vector<Ino> stray_parents_;  // attr.parent != 0 yet A{ino}P records exist
  int64_t vol_bytes_ = 0, vol_inodes_ = 0;
  uint64_t progress_tick_ = 0;
};

}  // namespace strata::meta::fsck_internal
