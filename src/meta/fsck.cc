// RunFsck (fsck.h): the driver, the whole-volume inode pass, orphans and the volume counters.
// The walk is in fsck_walk.cc; link counts and slice references in fsck_refs.cc.
//
// Order of a whole-volume run: walk / and /.trash (every directory checked from its own
// listing) -> one pass over every inode in id order (orphans, records of missing inodes,
// the slice table, the volume totals) -> walk below orphan directories (so an orphaned
// subtree is one orphan, not one per file) -> link counts -> slice references -> volume
// counters -> move orphans to /lost+found. Moving orphans last keeps the counts made before
// exact: a move changes only /lost+found's own records, and updates them as it goes.
#include <algorithm>

#include "common/bytes.h"
#include "meta/fsck_internal.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta {

std::string FsckProblem::ToString() const {
  std::string s = kind + " " + where + ": " + detail;
  if (repaired) s += " (repaired)";
  return s;
}

void FsckResult::Add(FsckProblem p, size_t max_problems) {
  problem_count++;
  if (p.repaired) repaired_count++;
  if (problems.size() < max_problems) problems.push_back(std::move(p));
}

namespace fsck_internal {

void Checker::Problem(const std::string& kind, Ino ino, const std::string& where,
                      const std::string& detail,
                      const std::function<Status(kv::Transaction&)>& fix) {
  FsckProblem p{kind, ino, where, detail, false};
  if (opts_.repair && fix) {
    Status s = kv::RunTxn(engine_, fix);
    if (s.ok()) {
      p.repaired = true;
    } else {
      p.detail += " (repair failed: " + s.ToString() + ")";
    }
  } else if (opts_.repair) {
    p.detail += " (cannot be repaired automatically)";
  }
  res_.Add(std::move(p), opts_.max_problems);
}

void Checker::Progress(const char* phase) {
  if (!opts_.progress) return;
  if (++progress_tick_ % 256 != 0) return;
  opts_.progress(FsckProgress{phase, res_.dirs, res_.entries, res_.inodes});
}

Status Checker::LoadPending() {
  RETURN_IF_ERROR(scan::ForEachInRange(
      engine_, schema::DeletedFilePrefix(), schema::PrefixEnd(schema::DeletedFilePrefix()),
      [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        Ino ino;
        uint64_t len;
        if (schema::ParseDeletedFileKey(kv.key, &ino, &len)) deleted_.push_back(ino);
        return std::optional<std::string>();
      }));
  RETURN_IF_ERROR(
      scan::ForEachInRange(engine_, "SS", schema::PrefixEnd("SS"),
                           [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
                             uint64_t sid;
                             Ino ino;
                             if (schema::ParseSustainedKey(kv.key, &sid, &ino))
                               sustained_.push_back(ino);
                             return std::optional<std::string>();
                           }));
  std::sort(deleted_.begin(), deleted_.end());
  std::sort(sustained_.begin(), sustained_.end());
  return Status::OK();
}

namespace {

// Deletes every key in [prefix, PrefixEnd(prefix)) inside txn (bounded pages).
Status DeletePrefix(kv::Transaction& txn, const std::string& prefix) {
  const std::string end = schema::PrefixEnd(prefix);
  std::string begin = prefix;
  while (true) {
    ASSIGN_OR_RETURN(auto page, txn.Scan(begin, end, 256));
    for (const auto& kv : page) txn.Delete(kv.key);
    if (page.size() < 256) return Status::OK();
    begin = page.back().key + '\0';
  }
}

std::string InodeWhere(Ino ino) { return "inode " + std::to_string(ino); }

}  // namespace

Status Checker::CheckGroup(scan::InodeGroup& g) {
  res_.inodes++;
  Progress("inodes");
  const Ino ino = g.ino;
  const bool pending = std::binary_search(deleted_.begin(), deleted_.end(), ino);
  for (const Slice& s : g.slices) res_.slices.Add(s.id, s.size, ino);
  if (!g.attr) {
    if (g.chunk_lists > 0 && !pending) {
      const uint64_t len = (static_cast<uint64_t>(g.last_chunk) + 1) << kChunkBits;
      Problem("chunks-without-inode", ino, InodeWhere(ino),
              std::to_string(g.chunk_lists) +
                  " chunk lists, no attribute and no pending-deletion record (their slices "
                  "would never be released)",
              [ino, len](kv::Transaction& txn) -> Status {
                txn.Put(schema::DeletedFileKey(ino, len),
                        schema::EncodeI64(internal::Now(*SystemClock::Get()).sec));
                return Status::OK();
              });
    }
    if (g.has_entries || !g.parents.empty() || g.has_other) {
      Problem("records-without-inode", ino, InodeWhere(ino),
              "entries, link or xattr/symlink records of an inode that has no attribute",
              [ino](kv::Transaction& txn) -> Status {
                RETURN_IF_ERROR(DeletePrefix(txn, schema::EntryPrefix(ino)));
                RETURN_IF_ERROR(DeletePrefix(txn, schema::ParentPrefix(ino)));
                RETURN_IF_ERROR(DeletePrefix(txn, schema::XattrPrefix(ino)));
                txn.Delete(schema::SymlinkKey(ino));
                return Status::OK();
              });
    }
    return Status::OK();
  }
  const Attr& a = *g.attr;
  if (a.nlink > 0 && ino != kRootIno && ino < kTrashIno) {
    vol_inodes_++;
    vol_bytes_ += internal::UsageBytes(a);
    res_.bytes += static_cast<uint64_t>(internal::UsageBytes(a));
  }
  if (pending) {
    Problem("live-deleted", ino, scan::PathOf(engine_, ino),
            "has a pending-deletion record although its attribute exists (the cleaner would "
            "release its data)",
            [ino](kv::Transaction& txn) {
              return DeletePrefix(txn, schema::DeletedFileKey(ino, 0).substr(0, 9));
            });
  }
  if (a.parent != 0 && !g.parents.empty()) stray_parents_.push_back(ino);
  if (reached_.Test(ino) || ino == kRootIno || ino == kTrashIno) return Status::OK();
  if (a.nlink == 0) {
    if (std::binary_search(sustained_.begin(), sustained_.end(), ino)) return Status::OK();
    const Attr copy = a;
    Problem("unlinked-unheld", ino, InodeWhere(ino),
            "nlink 0 and open in no session: its data would never be released",
            [ino, copy](kv::Transaction& txn) {
              return internal::ReleaseInode(txn, ino, copy, 0, false,
                                            internal::Now(*SystemClock::Get()).sec);
            });
    return Status::OK();
  }
  orphan_candidates_.emplace_back(ino, a.type);
  return Status::OK();
}

Status Checker::ScanAllInodes() {
  return scan::ScanInodes(
      engine_, [&](scan::InodeGroup& g) { return CheckGroup(g); }, opts_.page);
}

Status Checker::SettleOrphans() {
  // Walk below every unreached directory first: whatever it reaches belongs to it.
  orphan_walk_ = true;
  for (const auto& [ino, type] : orphan_candidates_) {
    if (type != FileType::kDirectory || visited_.Test(ino)) continue;
    orphan_roots_.insert(ino);
    RETURN_IF_ERROR(Walk(ino, "<orphan " + std::to_string(ino) + ">"));
  }
  orphan_walk_ = false;
  std::vector<std::pair<Ino, FileType>> roots;
  for (const auto& [ino, type] : orphan_candidates_) {
    if (type == FileType::kDirectory ? orphan_roots_.count(ino) > 0 : !reached_.Test(ino)) {
      roots.emplace_back(ino, type);
    }
  }
  orphan_candidates_ = std::move(roots);
  return Status::OK();
}

Result<Ino> Checker::LostAndFound() {
  if (res_.lost_found != 0) return res_.lost_found;
  Ino lf = 0;
  RETURN_IF_ERROR(kv::RunTxn(engine_, [&](kv::Transaction& txn) -> Status {
    const std::string key = schema::EntryKey(kRootIno, "lost+found");
    ASSIGN_OR_RETURN(auto raw, txn.Get(key));
    if (raw) {
      FileType t;
      RETURN_IF_ERROR(schema::DecodeEntry(*raw, &t, &lf));
      if (t != FileType::kDirectory) return Status(Code::kNotDir, "/lost+found is not a directory");
      return Status::OK();
    }
    // A new directory, made as mkdir would (root's nlink and usage, the volume counters).
    const std::string ckey = schema::CounterKey(internal::kNextInodeCounter);
    ASSIGN_OR_RETURN(auto counter, txn.Get(ckey));
    lf = std::max<uint64_t>(2, counter && counter->size() == 8 ? GetU64BE(counter->data()) : 0);
    std::string next;
    PutU64BE(&next, lf + 1);
    txn.Put(ckey, next);
    const Timespec now = internal::Now(*SystemClock::Get());
    Attr a;
    a.type = FileType::kDirectory;
    a.mode = 0700;
    a.atime = a.mtime = a.ctime = now;
    a.nlink = 2;
    a.length = 4096;
    a.parent = kRootIno;
    internal::WriteAttr(txn, lf, a);
    txn.Put(key, schema::EncodeEntry(FileType::kDirectory, lf));
    ASSIGN_OR_RETURN(Attr root, internal::ReadAttr(txn, kRootIno));
    root.nlink++;
    root.mtime = root.ctime = now;
    internal::WriteAttr(txn, kRootIno, root);
    return internal::UpdateUsage(txn, kRootIno, 0, 1);
  }));
  res_.lost_found = lf;
  return lf;
}

Status Checker::MoveOrphans() {
  for (const auto& [ino, type] : orphan_candidates_) {
    const bool is_dir = type == FileType::kDirectory;
    std::function<Status(kv::Transaction&)> fix;
    Ino lf = 0;
    if (opts_.repair) {
      auto got = LostAndFound();
      if (!got.ok()) {
        Problem("orphan", ino, InodeWhere(ino),
                "not reachable from / (no /lost+found: " + got.status().ToString() + ")");
        continue;
      }
      lf = *got;
    }
    const Ino o = ino;
    fix = [o, lf, is_dir](kv::Transaction& txn) -> Status {
      ASSIGN_OR_RETURN(Attr a, internal::ReadAttr(txn, o));
      ASSIGN_OR_RETURN(Attr l, internal::ReadAttr(txn, lf));
      const Timespec now = internal::Now(*SystemClock::Get());
      // "#INO", or "#INO.N" when a name is taken (never replace what lost+found holds).
      std::string name = "#" + std::to_string(o);
      for (int n = 1;; n++) {
        ASSIGN_OR_RETURN(auto taken, txn.Get(schema::EntryKey(lf, name)));
        if (!taken) break;
        name = "#" + std::to_string(o) + "." + std::to_string(n);
      }
      txn.Put(schema::EntryKey(lf, name), schema::EncodeEntry(a.type, o));
      a.parent = lf;
      if (!is_dir) a.nlink = 1;
      a.ctime = now;
      RETURN_IF_ERROR(DeletePrefix(txn, schema::ParentPrefix(o)));
      internal::WriteAttr(txn, o, a);
      if (is_dir) l.nlink++;
      l.mtime = l.ctime = now;
      internal::WriteAttr(txn, lf, l);
      // The volume counters already count the orphan: only the directory's usage grows.
      return internal::UpdateDirUsage(txn, lf, internal::UsageBytes(a), 1);
    };
    Problem("orphan", ino, InodeWhere(ino),
            std::string(is_dir ? "directory" : "inode") +
                " with nlink > 0 that no entry reaches (moved to /lost+found/#" +
                std::to_string(ino) + " by --repair)",
            fix);
  }
  return Status::OK();
}

Status Checker::CheckCounters() {
  const std::vector<std::string> space = internal::VolumeUsageKeys(true);
  const std::vector<std::string> inodes = internal::VolumeUsageKeys(false);
  std::vector<std::string> keys = space;
  keys.insert(keys.end(), inodes.begin(), inodes.end());
  int64_t have_bytes = 0, have_inodes = 0;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet(keys));
        have_bytes = have_inodes = 0;
        for (size_t i = 0; i < raw.size(); i++) {
          (i < space.size() ? have_bytes : have_inodes) += schema::DecodeI64(raw[i].value_or(""));
        }
        return Status::OK();
      },
      ro));
  const int64_t want_bytes = vol_bytes_, want_inodes = vol_inodes_;
  auto fix = [keys, space, want_bytes, want_inodes](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto raw, txn.BatchGet(keys));
    int64_t b = 0, n = 0;
    for (size_t i = 0; i < raw.size(); i++) {
      (i < space.size() ? b : n) += schema::DecodeI64(raw[i].value_or(""));
    }
    // The difference goes into shard 0 (a shard may hold any value; only the sum counts).
    txn.Put(keys[0], schema::EncodeI64(schema::DecodeI64(raw[0].value_or("")) + want_bytes - b));
    const size_t i0 = space.size();
    txn.Put(keys[i0], schema::EncodeI64(schema::DecodeI64(raw[i0].value_or("")) + want_inodes - n));
    return Status::OK();
  };
  if (have_bytes != want_bytes || have_inodes != want_inodes) {
    Problem("volume-counters", 0, "usedSpace/usedInodes",
            "counters say " + std::to_string(have_bytes) + " bytes / " +
                std::to_string(have_inodes) + " inodes, inodes hold " + std::to_string(want_bytes) +
                " bytes / " + std::to_string(want_inodes),
            fix);
  }
  return Status::OK();
}

Status Checker::Run() {
  res_.whole_volume = opts_.path.empty() || opts_.path == "/";
  if (!res_.whole_volume) {
    ASSIGN_OR_RETURN(Ino start, ResolvePath(opts_.path));
    RETURN_IF_ERROR(Walk(start, opts_.path));
    res_.slices.Finish();
    res_.skipped = {"orphan inodes (need the whole volume)",
                    "link counts of non-directories (links may lie outside the subtree)",
                    "slice reference counts (need the whole volume)",
                    "volume counters (need the whole volume)"};
    return Status::OK();
  }
  RETURN_IF_ERROR(Walk(kRootIno, "/"));
  std::optional<std::string> trash;
  RETURN_IF_ERROR(kv::RunTxn(engine_, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(trash, txn.Get(schema::AttrKey(kTrashIno)));
    return Status::OK();
  }));
  if (trash) RETURN_IF_ERROR(Walk(kTrashIno, "/.trash"));
  RETURN_IF_ERROR(LoadPending());
  RETURN_IF_ERROR(ScanAllInodes());
  RETURN_IF_ERROR(SettleOrphans());
  RETURN_IF_ERROR(CheckLinks());
  res_.slices.Finish();
  RETURN_IF_ERROR(CheckSliceRefs());
  RETURN_IF_ERROR(CheckCounters());
  return MoveOrphans();
}

}  // namespace fsck_internal

Result<FsckResult> RunFsck(kv::KvEngine& engine, const FsckOptions& options) {
  FsckResult result;
  fsck_internal::Checker checker(engine, options, &result);
  RETURN_IF_ERROR(checker.Run());
  return result;
}

}  // namespace strata::meta
