// The directory walk of fsck (fsck_internal.h): depth first from a root, one page of entries
// plus their attributes per read-only transaction; every check on a directory uses only what
// its own listing found, so the walk holds no per-file state except for unusual links.
#include <optional>

#include "meta/fsck_internal.h"
#include "meta/internal.h"
#include "meta/namespace_util.h"
#include "meta/schema.h"

namespace strata::meta::fsck_internal {
namespace {

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

const char* TypeName(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return "file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kSymlink:
      return "symlink";
    default:
      return "special file";
  }
}

}  // namespace

bool SparseBitmap::TestAndSet(Ino ino) {
  auto& page = pages_[ino >> kPageBits];
  if (page.empty()) page.resize((1u << kPageBits) / 64);
  const uint64_t bit = ino & ((1u << kPageBits) - 1);
  const uint64_t mask = 1ULL << (bit % 64);
  const bool was = (page[bit / 64] & mask) != 0;
  page[bit / 64] |= mask;
  return was;
}

bool SparseBitmap::Test(Ino ino) const {
  auto it = pages_.find(ino >> kPageBits);
  if (it == pages_.end()) return false;
  const uint64_t bit = ino & ((1u << kPageBits) - 1);
  return (it->second[bit / 64] >> (bit % 64)) & 1;
}

Result<Ino> Checker::ResolvePath(const std::string& path) {
  Ino cur = kRootIno;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    const std::string name = path.substr(pos, next - pos);
    pos = next + 1;
    if (name.empty() || name == ".") continue;
    std::optional<std::string> raw;
    kv::TxnOptions ro;
    ro.read_only = true;
    RETURN_IF_ERROR(kv::RunTxn(
        engine_,
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(raw, txn.Get(schema::EntryKey(cur, name)));
          return Status::OK();
        },
        ro));
    if (!raw) return Status::NotFound("no such directory: " + path);
    FileType type;
    RETURN_IF_ERROR(schema::DecodeEntry(*raw, &type, &cur));
    if (type != FileType::kDirectory) return Status(Code::kNotDir, "not a directory: " + path);
  }
  return cur;
}

Status Checker::Walk(Ino start, const std::string& path) {
  reached_.TestAndSet(start);
  visited_.TestAndSet(start);
  stack_.emplace_back(start, path);
  while (!stack_.empty()) {
    auto [dir, dir_path] = std::move(stack_.back());
    stack_.pop_back();
    RETURN_IF_ERROR(CheckDir(dir, dir_path));
    res_.dirs++;
    Progress("walk");
  }
  return Status::OK();
}

void Checker::NoteLink(Ino child, const Attr& a, Ino dir) {
  const bool seen = reached_.TestAndSet(child);
  auto it = links_.find(child);
  if (it == links_.end()) {
    if (!seen && a.nlink == 1 && a.parent == dir) return;  // the plain case: nothing to keep
    LinkInfo& info = links_[child];
    // Seen before without being recorded: that sight was the plain case, in a.parent.
    if (seen) info.dirs[a.parent]++;
    info.dirs[dir]++;
    return;
  }
  it->second.dirs[dir]++;
}

Status Checker::CheckDir(Ino dir, const std::string& path) {
  const std::string prefix = schema::EntryPrefix(dir);
  const std::string end = schema::PrefixEnd(prefix);
  std::string from = prefix;
  DirCounts counts;
  kv::TxnOptions ro;
  ro.read_only = true;
  while (true) {
    std::vector<kv::KeyValue> page;
    std::vector<std::optional<std::string>> attrs;
    RETURN_IF_ERROR(kv::RunTxn(
        engine_,
        [&](kv::Transaction& txn) -> Status {
          ASSIGN_OR_RETURN(page, txn.SnapshotScan(from, end, opts_.page));
          std::vector<std::string> keys;
          for (const auto& kv : page) {
            FileType t;
            Ino child = 0;
            keys.push_back(schema::DecodeEntry(kv.value, &t, &child).ok() ? schema::AttrKey(child)
                                                                          : schema::AttrKey(0));
          }
          ASSIGN_OR_RETURN(attrs, txn.BatchGet(keys));
          return Status::OK();
        },
        ro));
    for (size_t i = 0; i < page.size(); i++) {
      RETURN_IF_ERROR(
          CheckEntry(dir, path, page[i].key.substr(prefix.size()), page[i], attrs[i], &counts));
    }
    if (page.size() < opts_.page) break;
    from = page.back().key + '\0';
  }
  return CheckDirRecords(dir, path, counts);
}

Status Checker::CheckEntry(Ino dir, const std::string& path, const std::string& name,
                           const kv::KeyValue& entry, const std::optional<std::string>& raw_attr,
                           DirCounts* counts) {
  const std::string key = entry.key;
  const std::string child_path = Join(path, name);
  res_.entries++;
  FileType etype;
  Ino child = 0;
  auto drop = [key](kv::Transaction& txn) -> Status {
    txn.Delete(key);
    return Status::OK();
  };
  if (!schema::DecodeEntry(entry.value, &etype, &child).ok()) {
    Problem("bad-entry", 0, child_path, "entry value does not decode", drop);
    return Status::OK();
  }
  if (!raw_attr) {
    Problem("dangling-entry", child, child_path,
            "names inode " + std::to_string(child) + ", which does not exist", drop);
    return Status::OK();
  }
  auto decoded = schema::DecodeAttr(*raw_attr);
  if (!decoded.ok()) {
    Problem("bad-attr", child, child_path, decoded.status().ToString());
    return Status::OK();
  }
  const Attr a = *decoded;
  if (etype != a.type) {
    const std::string value = schema::EncodeEntry(a.type, child);
    Problem("entry-type", child, child_path,
            std::string("entry says ") + TypeName(etype) + ", inode is a " + TypeName(a.type),
            [key, value](kv::Transaction& txn) -> Status {
              txn.Put(key, value);
              return Status::OK();
            });
  }
  if (a.type == FileType::kDirectory) {
    if (visited_.TestAndSet(child)) {
      if (orphan_walk_ && orphan_roots_.erase(child) > 0) {
        // An orphan directory walked before, found inside another: part of that orphan.
        counts->subdirs++;
        if (child < kTrashIno) counts->inodes++;
        return Status::OK();
      }
      Problem("dir-linked-twice", child, child_path,
              "directory " + std::to_string(child) + " is already named by another entry", drop);
      return Status::OK();
    }
    reached_.TestAndSet(child);
    if (a.parent != dir) {
      Problem("dir-parent", child, child_path,
              "parent field " + std::to_string(a.parent) + ", entry is in " + std::to_string(dir),
              [child, dir](kv::Transaction& txn) -> Status {
                ASSIGN_OR_RETURN(Attr c, internal::ReadAttr(txn, child));
                c.parent = dir;
                internal::WriteAttr(txn, child, c);
                return Status::OK();
              });
    }
    counts->subdirs++;
    if (child < kTrashIno) counts->inodes++;  // trash hour directories are not counted
    stack_.emplace_back(child, child_path);
    return Status::OK();
  }
  counts->inodes++;
  counts->bytes += internal::UsageBytes(a);
  if (a.type == FileType::kRegular) res_.files++;
  const bool seen_before = reached_.Test(child);
  NoteLink(child, a, dir);
  if (!res_.whole_volume && !seen_before && a.type == FileType::kRegular && a.length > 0) {
    // Subtree mode: the store check needs this file's slices (the whole-volume pass collects
    // them in the inode scan instead).
    ASSIGN_OR_RETURN(auto slices, scan::ReadFileSlices(engine_, child));
    for (const Slice& s : slices) res_.slices.Add(s.id, s.size, child);
  }
  return Status::OK();
}

Status Checker::CheckDirRecords(Ino dir, const std::string& path, const DirCounts& counts) {
  std::optional<std::string> raw_attr, raw_usage;
  kv::TxnOptions ro;
  ro.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(dir), schema::UsageKey(dir)}));
        raw_attr = raw[0];
        raw_usage = raw[1];
        return Status::OK();
      },
      ro));
  if (!raw_attr) {
    if (dir == kRootIno) return Status::Corruption("the root directory has no attribute record");
    return Status::OK();  // removed since its entry was read (a live volume)
  }
  ASSIGN_OR_RETURN(Attr da, schema::DecodeAttr(*raw_attr));
  const uint32_t want_nlink = 2 + counts.subdirs;
  if (da.nlink != want_nlink) {
    Problem("dir-nlink", dir, path,
            "nlink " + std::to_string(da.nlink) + ", expected " + std::to_string(want_nlink) +
                " (2 + " + std::to_string(counts.subdirs) + " subdirectories)",
            [dir, want_nlink](kv::Transaction& txn) -> Status {
              ASSIGN_OR_RETURN(Attr d, internal::ReadAttr(txn, dir));
              d.nlink = want_nlink;
              internal::WriteAttr(txn, dir, d);
              return Status::OK();
            });
  }
  int64_t have_bytes = 0, have_inodes = 0;
  const bool well_formed = !raw_usage || raw_usage->size() == 16;
  if (raw_usage && well_formed) {
    have_bytes = schema::DecodeI64(raw_usage->substr(0, 8));
    have_inodes = schema::DecodeI64(raw_usage->substr(8, 8));
  }
  const int64_t bytes = counts.bytes, inodes = counts.inodes;
  if (have_bytes == bytes && have_inodes == inodes && well_formed) return Status::OK();
  Problem("dir-usage", dir, path,
          "usage record " + std::to_string(have_bytes) + " bytes / " + std::to_string(have_inodes) +
              " inodes, entries hold " + std::to_string(bytes) + " bytes / " +
              std::to_string(inodes) + " inodes",
          [dir, bytes, inodes](kv::Transaction& txn) -> Status {
            if (bytes == 0 && inodes == 0) {
              txn.Delete(schema::UsageKey(dir));  // an empty directory keeps no record
            } else {
              txn.Put(schema::UsageKey(dir), schema::EncodeI64(bytes) + schema::EncodeI64(inodes));
            }
            return Status::OK();
          });
  return Status::OK();
}

}  // namespace strata::meta::fsck_internal
