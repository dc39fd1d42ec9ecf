#include "object/file_cursor.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

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
  DIR* dir = ::opendir(level.path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return level;  // removed meanwhile: empty
    return FromErrno(errno, "list directory " + level.path);
  }
  errno = 0;
  while (dirent* d = ::readdir(dir)) {
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    std::optional<std::string> segment = file_util::DecodeName(name);
    if (!segment) continue;  // temporary file, staging directory or foreign name
    bool is_dir = d->d_type == DT_DIR;
    if (d->d_type == DT_UNKNOWN || d->d_type == DT_LNK) {
      struct stat st;
      std::string full = level.path + "/" + std::string(name);
      if (::stat(full.c_str(), &st) != 0) continue;
      is_dir = S_ISDIR(st.st_mode);
    } else if (d->d_type != DT_DIR && d->d_type != DT_REG) {
      continue;
    }
    Entry e;
    e.key = level.prefix + *segment + (is_dir ? "/" : "");
    e.name = std::string(name);
    e.is_dir = is_dir;
    level.entries.push_back(std::move(e));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return FromErrno(err, "list directory " + level.path);
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
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound("vanished while listing: " + e.key);
    return FromErrno(errno, "stat " + path);
  }
  ObjectInfo info;
  info.key = e.key;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return info;
}

Status FileCursor::Next() {
  stack_.back().index++;
  return Settle();
}

}  // namespace strata::object
