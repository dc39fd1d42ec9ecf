#include "object/file_cursor.h"

#include <algorithm>

#include "object/file_util.h"

namespace strata::object {

namespace {
bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

Result<FileCursor::Level> FileCursor::Load(std::string prefix, std::string path) const {
  Level level;
  level.prefix = std::move(prefix);
  level.path = std::move(path);
  Result<std::vector<DirEntry>> listing = env_->ListDir(level.path);
  if (!listing.ok()) {
    const Status& s = listing.status();
    if (s.Is(Code::kNotFound) || s.Is(Code::kNotDir)) return level;  // removed meanwhile: empty
    return s.WithContext("list directory " + level.path);
  }
  for (const DirEntry& d : *listing) {
    std::optional<std::string> segment = file_util::DecodeName(d.name);
    if (!segment) continue;  // temporary file, staging directory or foreign name
    bool is_dir = d.type == FileType::kDirectory;
    if (d.type == FileType::kOther) {
      // A symbolic link (or a type the listing could not tell): what it leads to counts.
      Result<FileInfo> info = env_->Stat(level.path + "/" + d.name);
      if (!info.ok() || info->type == FileType::kOther) continue;
      is_dir = info->type == FileType::kDirectory;
    }
    Entry e;
    e.key = level.prefix + *segment + (is_dir ? "/" : "");
    e.name = d.name;
    e.is_dir = is_dir;
    level.entries.push_back(std::move(e));
  }
  std::sort(level.entries.begin(), level.entries.end(),
            [](const Entry& a, const Entry& b) { return a.key < b.key; });
  return level;
}

Status FileCursor::Settle() {
  while (!stack_.empty()) {
    Level& top = stack_.back();
    if (top.index >= top.entries.size()) {
      stack_.pop_back();
      if (!stack_.empty()) stack_.back().index++;
      continue;
    }
    const Entry& e = top.entries[top.index];
    if (!e.is_dir) return Status::OK();
    ASSIGN_OR_RETURN(Level child, Load(e.key, top.path + "/" + e.name));
    stack_.push_back(std::move(child));
  }
  return Status::OK();
}

Status FileCursor::Seek(const std::string& target) {
  // Climb out of directories that cannot hold the target (targets only grow).
  while (!stack_.empty() && !StartsWith(target, stack_.back().prefix)) stack_.pop_back();
  if (stack_.empty()) {
    ASSIGN_OR_RETURN(Level root, Load("", root_));
    stack_.push_back(std::move(root));
  }
  while (true) {
    Level& top = stack_.back();
    auto begin =
        top.entries.begin() + static_cast<std::ptrdiff_t>(std::min(top.index, top.entries.size()));
    auto it = std::lower_bound(begin, top.entries.end(), target,
                               [](const Entry& e, const std::string& t) { return e.key < t; });
    // A directory sorting before the target may still hold it ("a/" holds "a/b").
    if (it != begin && std::prev(it)->is_dir && StartsWith(target, std::prev(it)->key)) --it;
    top.index = static_cast<size_t>(it - top.entries.begin());
    if (it == top.entries.end() || !it->is_dir || !StartsWith(target, it->key)) break;
    ASSIGN_OR_RETURN(Level child, Load(it->key, top.path + "/" + it->name));
    stack_.push_back(std::move(child));
  }
  return Settle();
}

Result<ObjectInfo> FileCursor::Info() {
  const Level& top = stack_.back();
  const Entry& e = top.entries[top.index];
  std::string path = top.path + "/" + e.name;
  Result<FileInfo> st = env_->Stat(path);
  if (!st.ok()) {
    if (st.status().Is(Code::kNotFound)) {
      return Status::NotFound("vanished while listing: " + e.key);
    }
    return st.status();
  }
  ObjectInfo info;
  info.key = e.key;
  info.size = st->size;
  info.mtime_ns = st->mtime_nanos;
  return info;
}

Status FileCursor::Next() {
  stack_.back().index++;
  return Settle();
}

}  // namespace strata::object
