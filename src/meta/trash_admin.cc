// Trash administration for `strata trash list/restore` (meta.h "Trash administration"): lists
// the files under /.trash/{hour}/{parent}-{ino}-{name} and restores one by a rename that never
// replaces. The trash's layout is in trash.cc and docs/format/meta-file-data.md "Trash".
#include <map>
#include <optional>

#include "meta/meta.h"
#include "meta/scan.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

constexpr int kMaxDepth = 100000;  // a deeper parent chain is corrupt

struct ParsedName {
  Ino parent = 0;
  Ino ino = 0;
  std::string original;
};

// "{parent}-{ino}-{name}" with decimal parent and ino; nullopt for anything else.
std::optional<ParsedName> ParseTrashName(const std::string& s) {
  ParsedName out;
  size_t pos = 0;
  for (Ino* field : {&out.parent, &out.ino}) {
    const size_t dash = s.find('-', pos);
    if (dash == std::string::npos || dash == pos || dash - pos > 20) return std::nullopt;
    Ino v = 0;
    for (size_t i = pos; i < dash; i++) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + static_cast<Ino>(s[i] - '0');
    }
    *field = v;
    pos = dash + 1;
  }
  if (pos >= s.size()) return std::nullopt;
  out.original = s.substr(pos);
  return out;
}

// The entries (name -> inode) of one directory, page by page.
Result<std::vector<std::pair<std::string, Ino>>> ListDir(kv::KvEngine& engine, Ino dir) {
  std::vector<std::pair<std::string, Ino>> out;
  const std::string prefix = schema::EntryPrefix(dir);
  RETURN_IF_ERROR(scan::ForEachInRange(
      engine, prefix, schema::PrefixEnd(prefix),
      [&](const kv::KeyValue& kv) -> Result<std::optional<std::string>> {
        FileType type;
        Ino ino;
        RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &type, &ino));
        out.emplace_back(kv.key.substr(prefix.size()), ino);
        return std::optional<std::string>();
      },
      256));
  return out;
}

bool IsLiveDir(const Result<Attr>& a) {
  return a.ok() && a->type == FileType::kDirectory && a->nlink > 0;
}

}  // namespace

Result<std::vector<TrashEntry>> Meta::ListTrash(Ino under) {
  std::vector<TrashEntry> out;
  auto root = GetAttr(kTrashIno);
  if (root.code() == Code::kNotFound) return out;  // nothing was ever trashed
  if (!root.ok()) return root.status();
  ASSIGN_OR_RETURN(auto hours, ListDir(*engine_, kTrashIno));
  std::map<Ino, bool> under_cache;  // parent -> lies in `under`'s subtree
  auto is_under = [&](Ino dir) -> bool {
    if (under == kRootIno) return true;
    auto it = under_cache.find(dir);
    if (it != under_cache.end()) return it->second;
    bool found = false;
    Ino cur = dir;
    for (int depth = 0; depth < kMaxDepth && cur != 0 && cur < kTrashIno; depth++) {
      if (cur == under) {
        found = true;
        break;
      }
      if (cur == kRootIno) break;
      auto a = GetAttr(cur);
      if (!IsLiveDir(a)) break;  // gone: not below anything but the root
      cur = a->parent;
    }
    under_cache[dir] = found;
    return found;
  };
  for (const auto& [hour, hour_ino] : hours) {
    if (hour_ino <= kTrashIno) continue;  // not an hour directory
    ASSIGN_OR_RETURN(auto entries, ListDir(*engine_, hour_ino));
    for (const auto& [name, ino] : entries) {
      auto parsed = ParseTrashName(name);
      if (!parsed || !is_under(parsed->parent)) continue;
      auto a = GetAttr(ino);
      if (a.code() == Code::kNotFound) continue;  // expired or removed meanwhile
      if (!a.ok()) return a.status();
      TrashEntry e;
      e.hour = hour;
      e.name = name;
      e.hour_ino = hour_ino;
      e.ino = ino;
      e.parent = parsed->parent;
      e.original = parsed->original;
      e.attr = *a;
      if (IsLiveDir(GetAttr(e.parent))) {
        e.parent_path = scan::PathOf(*engine_, e.parent);
        if (!e.parent_path.empty() && e.parent_path[0] == '<') e.parent_path.clear();
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

Result<Entry> Meta::RestoreTrash(const Context& ctx, const std::string& hour,
                                 const std::string& name, Ino to) {
  auto parsed = ParseTrashName(name);
  if (!parsed) {
    return Status::InvalidArgument("'" + name + "' is not a trash entry name (PARENT-INO-NAME)");
  }
  auto hour_dir = Lookup(ctx, kTrashIno, hour);
  if (!hour_dir.ok() || hour_dir->ino <= kTrashIno) {
    return Status::NotFound("no trash hour directory '" + hour + "'");
  }
  auto entry = Lookup(ctx, hour_dir->ino, name);
  if (entry.code() == Code::kNotFound) {
    return Status::NotFound("no trash entry '" + hour + "/" + name + "'");
  }
  if (!entry.ok()) return entry.status();
  const Ino target = to ? to : parsed->parent;
  if (!IsLiveDir(GetAttr(target))) {
    return Status::NotFound(to ? "the target directory no longer exists"
                               : "the original directory (inode " + std::to_string(target) +
                                     ") no longer exists; restore --to another directory");
  }
  Status s = Rename(ctx, hour_dir->ino, name, target, parsed->original, kRenameNoReplace);
  if (s.code() == Code::kAlreadyExists) {
    return Status::AlreadyExists("'" + parsed->original + "' already exists in " +
                                 scan::PathOf(*engine_, target) +
                                 "; restore --to another directory");
  }
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(Attr a, GetAttr(entry->ino));
  return Entry{entry->ino, a};
}

}  // namespace strata::meta
