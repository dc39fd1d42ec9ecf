// The trash (DESIGN.md §5, docs/format/meta-schema.md "Trash"): with trash_days > 0 a regular
// file losing its last link is moved to /.trash/{YYYY-MM-DD-HH}/{parent}-{ino}-{name} instead of
// being released, and an hourly directory older than trash_days is emptied by the elected
// cleaner (its files then become deleted-file records as usual).
//
// Inodes: /.trash is kTrashIno; the hour directory of hour h (hours since the epoch, UTC) is
// kTrashIno + 1 + h, so no id is allocated and two clients trashing in the same hour agree on
// it. Ordinary inode ids stay below kTrashIno (ids.cc refuses to hand out more).
// /.trash is not an entry of the root directory (readdir of / does not list it); Lookup of
// ".trash" in the root resolves to kTrashIno when the trash exists.
#include <time.h>

#include <algorithm>
#include <cstdio>

#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"
#include "meta/session_util.h"

namespace strata::meta {
namespace {

constexpr int64_t kHour = 3600;
constexpr size_t kExpirePage = 32;

// /.trash is 0555: only root changes it. An hour directory is 01777, so that a trashed
// file's owner (or root) may rename it out or remove it, and nobody else may (sticky rule);
// Meta refuses every way of putting something into the trash (internal::CheckNotIntoTrash).
constexpr uint32_t kTrashRootMode = 0555;
constexpr uint32_t kHourDirMode = 01777;

Attr TrashDirAttr(Ino parent, uint32_t mode, const Timespec& now) {
  Attr a;
  a.type = FileType::kDirectory;
  a.mode = mode;
  a.uid = a.gid = 0;
  a.atime = a.mtime = a.ctime = now;
  a.nlink = 2;
  a.length = 4096;
  a.parent = parent;
  return a;
}

std::string HourName(int64_t hour) {
  time_t t = static_cast<time_t>(hour * kHour);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour);
  return buf;
}

// Creates /.trash and the hour directory when missing; returns the hour directory's inode.
Result<Ino> EnsureHourDir(kv::Transaction& txn, int64_t hour, const Timespec& now) {
  const Ino dir = internal::TrashHourIno(hour * kHour);
  ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(kTrashIno), schema::AttrKey(dir)}));
  if (raw[1]) {
    // Hour directories of volumes written before owner restore are 0555: mended on next use.
    ASSIGN_OR_RETURN(Attr hour_dir, schema::DecodeAttr(*raw[1]));
    if (hour_dir.mode != kHourDirMode) {
      hour_dir.mode = kHourDirMode;
      hour_dir.ctime = now;
      internal::WriteAttr(txn, dir, hour_dir);
    }
    return dir;
  }
  Attr root = TrashDirAttr(kRootIno, kTrashRootMode, now);
  if (raw[0]) {
    ASSIGN_OR_RETURN(root, schema::DecodeAttr(*raw[0]));
  }
  root.nlink++;
  root.mtime = root.ctime = now;
  internal::WriteAttr(txn, kTrashIno, root);
  internal::WriteAttr(txn, dir, TrashDirAttr(kTrashIno, kHourDirMode, now));
  txn.Put(schema::EntryKey(kTrashIno, HourName(hour)),
          schema::EncodeEntry(FileType::kDirectory, dir));
  return dir;
}

// Empties one expired hour directory page by page, then removes it. Returns files removed.
Result<int> ExpireHourDir(kv::KvEngine& engine, Ino dir, const std::string& name,
                          int64_t now_unix) {
  int removed = 0;
  const std::string prefix = schema::EntryPrefix(dir);
  const std::string end = schema::PrefixEnd(prefix);
  while (true) {
    size_t seen = 0;
    int page_removed = 0;
    bool kept_dirs = false;
    RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
      page_removed = 0;
      kept_dirs = false;
      ASSIGN_OR_RETURN(auto page, txn.Scan(prefix, end, kExpirePage));
      seen = page.size();
      for (const auto& kv : page) {
        FileType type;
        Ino ino;
        RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &type, &ino));
        // A directory cannot be renamed into the trash (CheckNotIntoTrash); one from an older
        // version (root's rename) is left for root to remove.
        if (type == FileType::kDirectory) {
          kept_dirs = true;
          continue;
        }
        txn.Delete(kv.key);
        page_removed++;
        ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, dir, 0, -1));
        if (!raw) continue;
        ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
        RETURN_IF_ERROR(internal::UpdateDirUsage(txn, dir, -internal::UsageBytes(a), 0));
        if (a.nlink > 1) {  // hard-linked from elsewhere by root: only this link goes
          a.nlink--;
          if (a.parent == dir) a.parent = 0;
          internal::WriteAttr(txn, ino, a);
          continue;
        }
        RETURN_IF_ERROR(internal::UpdateVolumeUsage(txn, dir, -internal::UsageBytes(a), -1));
        RETURN_IF_ERROR(internal::ReleaseInode(txn, ino, a, 0, false, now_unix));
      }
      return Status::OK();
    }));
    removed += page_removed;
    if (kept_dirs) return removed;  // cannot remove the hour directory itself
    if (seen == kExpirePage) continue;
    break;
  }
  RETURN_IF_ERROR(kv::RunTxn(engine, [&](kv::Transaction& txn) -> Status {
    ASSIGN_OR_RETURN(auto left, txn.Scan(prefix, end, 1));
    if (!left.empty()) return Status::OK();  // a file arrived meanwhile: next round
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(kTrashIno)));
    if (raw) {
      ASSIGN_OR_RETURN(Attr root, schema::DecodeAttr(*raw));
      if (root.nlink > 2) root.nlink--;
      internal::WriteAttr(txn, kTrashIno, root);
    }
    txn.Delete(schema::EntryKey(kTrashIno, name));
    txn.Delete(schema::AttrKey(dir));
    txn.Delete(schema::UsageKey(dir));
    return Status::OK();
  }));
  return removed;
}

}  // namespace

namespace internal {

Ino TrashHourIno(int64_t unix_sec) {
  return kTrashIno + 1 + static_cast<Ino>(std::max<int64_t>(0, unix_sec) / kHour);
}

Status MoveToTrash(kv::Transaction& txn, Ino ino, Attr& a, Ino parent, const std::string& name,
                   const Timespec& now) {
  if (a.type != FileType::kRegular) return Status::InvalidArgument("only files go to the trash");
  ASSIGN_OR_RETURN(Ino dir, EnsureHourDir(txn, now.sec / kHour, now));
  std::string trash_name = std::to_string(parent) + "-" + std::to_string(ino) + "-" + name;
  if (trash_name.size() > kMaxNameLen) trash_name.resize(kMaxNameLen);
  RETURN_IF_ERROR(UpdateDirUsage(txn, parent, -UsageBytes(a), -1));
  RETURN_IF_ERROR(UpdateDirUsage(txn, dir, UsageBytes(a), 1));
  txn.Put(schema::EntryKey(dir, trash_name), schema::EncodeEntry(FileType::kRegular, ino));
  if (a.parent == 0) {
    // Was hard-linked: its last parent record goes, the trash directory is its parent now.
    const std::string prefix = schema::ParentPrefix(ino);
    ASSIGN_OR_RETURN(auto recs, txn.Scan(prefix, schema::PrefixEnd(prefix), 64));
    for (const auto& kv : recs) txn.Delete(kv.key);
  }
  a.nlink = 1;
  a.parent = dir;
  a.ctime = now;
  WriteAttr(txn, ino, a);
  return Status::OK();
}

Result<int> ExpireTrash(kv::KvEngine& engine, int trash_days, int64_t now_unix) {
  if (trash_days <= 0) return 0;
  std::vector<std::pair<std::string, Ino>> hours;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine,
      [&](kv::Transaction& txn) -> Status {
        hours.clear();
        const std::string prefix = schema::EntryPrefix(kTrashIno);
        // One entry per hour: a year of hours fits one page.
        ASSIGN_OR_RETURN(auto page, txn.SnapshotScan(prefix, schema::PrefixEnd(prefix), 10000));
        for (const auto& kv : page) {
          FileType type;
          Ino ino;
          RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &type, &ino));
          hours.emplace_back(kv.key.substr(prefix.size()), ino);
        }
        return Status::OK();
      },
      ro));
  int removed = 0;
  for (const auto& [name, dir] : hours) {
    if (dir <= kTrashIno) continue;  // not an hour directory (root put something there)
    const int64_t hour_end = static_cast<int64_t>(dir - kTrashIno) * kHour;  // (h + 1) * 3600
    if (hour_end + int64_t{trash_days} * 86400 > now_unix) continue;
    ASSIGN_OR_RETURN(int n, ExpireHourDir(engine, dir, name, now_unix));
    removed += n;
  }
  return removed;
}

}  // namespace internal
}  // namespace strata::meta
