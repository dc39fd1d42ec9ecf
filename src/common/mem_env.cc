#include "common/mem_env.h"

#include <algorithm>
#include <cerrno>
#include <vector>

namespace strata {

struct MemEnv::Space {
  std::atomic<uint64_t> used{0};
  uint64_t capacity = 0;

  // Takes `n` more bytes, or returns false when they do not fit.
  bool Reserve(uint64_t n) {
    uint64_t cur = used.load();
    do {
      if (cur + n > capacity || cur + n < cur) return false;
    } while (!used.compare_exchange_weak(cur, cur + n));
    return true;
  }
  void Release(uint64_t n) { used.fetch_sub(n); }
};

struct MemEnv::File {
  explicit File(std::shared_ptr<Space> s) : space(std::move(s)) {}
  ~File() { space->Release(data.size()); }
  std::mutex mu;
  std::string data;   // guarded by mu
  int64_t mtime = 0;  // guarded by mu
  std::shared_ptr<Space> space;
};

struct MemEnv::Node {
  FileType type = FileType::kDirectory;
  std::shared_ptr<File> file;  // set for regular files
  int64_t mtime = 0;           // for directories
};

namespace {

Status Err(std::string_view op, const std::string& path, int err) {
  std::string ctx(op);
  ctx += ' ';
  ctx += path;
  return FromErrno(err, ctx);
}

// Lexically normalised absolute path: "/a//b/./c/../d/" -> "/a/b/d".
Result<std::string> Normalize(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("MemEnv path must be absolute: '" + path + "'");
  }
  std::vector<std::string_view> parts;
  std::string_view rest = path;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? std::string("/") : out;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return path != "/";
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemEnv::File> f) : file_(std::move(f)) {}

  Result<size_t> ReadAt(uint64_t offset, size_t n, char* buf) const override {
    std::lock_guard lock(file_->mu);
    if (offset >= file_->data.size()) return size_t{0};
    size_t got = std::min<uint64_t>(n, file_->data.size() - offset);
    std::copy_n(file_->data.data() + offset, got, buf);
    return got;
  }

  Result<uint64_t> Size() const override {
    std::lock_guard lock(file_->mu);
    return static_cast<uint64_t>(file_->data.size());
  }

 private:
  std::shared_ptr<MemEnv::File> file_;
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemEnv::File> f, const Clock* clock)
      : path_(std::move(path)), file_(std::move(f)), clock_(clock) {}

  Status Append(std::string_view data) override {
    if (closed_) return Status(Code::kBadHandle, "append to closed file " + path_);
    std::lock_guard lock(file_->mu);
    if (!file_->space->Reserve(data.size())) return Err("append", path_, ENOSPC);
    file_->data.append(data);
    file_->mtime = clock_->NowNanos();
    return Status::OK();
  }

  Status Sync() override {
    if (closed_) return Status(Code::kBadHandle, "sync of closed file " + path_);
    return Status::OK();
  }

  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

  uint64_t Size() const override {
    std::lock_guard lock(file_->mu);
    return file_->data.size();
  }

 private:
  std::string path_;
  std::shared_ptr<MemEnv::File> file_;
  const Clock* clock_;
  bool closed_ = false;
};

}  // namespace

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnv* env, std::string path, LockType type)
      : env_(env), path_(std::move(path)), type_(type) {}
  ~MemFileLock() override { env_->Unlock(path_, type_); }

 private:
  MemEnv* env_;
  std::string path_;
  LockType type_;
};

MemEnv::MemEnv(const Options& options)
    : options_(options),
      clock_(options.clock ? options.clock : SystemClock::Get()),
      space_(std::make_shared<Space>()) {
  space_->capacity = options.capacity_bytes;
  nodes_["/"] = Node{FileType::kDirectory, nullptr, clock_->NowNanos()};
}

MemEnv::~MemEnv() = default;

MemEnv::Node* MemEnv::Find(const std::string& path) {
  auto it = nodes_.find(path);
  return it == nodes_.end() ? nullptr : &it->second;
}

Status MemEnv::CheckParent(std::string_view op, const std::string& path) {
  Node* parent = Find(Dirname(path));
  if (parent == nullptr) return Err(op, path, ENOENT);
  if (parent->type != FileType::kDirectory) return Err(op, path, ENOTDIR);
  return Status::OK();
}

Result<std::unique_ptr<RandomAccessFile>> MemEnv::NewRandomAccessFile(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("open", path, ENOENT);
  if (n->type == FileType::kDirectory) return Err("open", path, EISDIR);
  return std::unique_ptr<RandomAccessFile>(std::make_unique<MemRandomAccessFile>(n->file));
}

Result<std::unique_ptr<WritableFile>> MemEnv::NewWritableFile(const std::string& p, OpenMode mode) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n != nullptr) {
    if (n->type == FileType::kDirectory) return Err("create", path, EISDIR);
    if (mode == OpenMode::kCreateNew) return Err("create", path, EEXIST);
    if (mode == OpenMode::kTruncate) {
      std::lock_guard flock(n->file->mu);
      space_->Release(n->file->data.size());
      n->file->data.clear();
      n->file->mtime = clock_->NowNanos();
    }
    return std::unique_ptr<WritableFile>(std::make_unique<MemWritableFile>(path, n->file, clock_));
  }
  RETURN_IF_ERROR(CheckParent("create", path));
  if (nodes_.size() >= options_.capacity_inodes) return Err("create", path, ENOSPC);
  auto file = std::make_shared<File>(space_);
  file->mtime = clock_->NowNanos();
  nodes_[path] = Node{FileType::kRegular, file, 0};
  return std::unique_ptr<WritableFile>(std::make_unique<MemWritableFile>(path, file, clock_));
}

Status MemEnv::Rename(const std::string& f, const std::string& t, bool no_replace) {
  ASSIGN_OR_RETURN(std::string from, Normalize(f));
  ASSIGN_OR_RETURN(std::string to, Normalize(t));
  std::string what = from + " -> " + to;
  std::lock_guard lock(mu_);
  Node* src = Find(from);
  if (src == nullptr) return Err("rename", what, ENOENT);
  if (from == "/" || to == "/") return Err("rename", what, EBUSY);
  RETURN_IF_ERROR(CheckParent("rename", to));
  Node* dst = Find(to);
  if (dst != nullptr && no_replace) return Err("rename", what, EEXIST);
  if (from == to) return Status::OK();
  bool src_dir = src->type == FileType::kDirectory;
  if (src_dir && IsUnder(to, from)) return Err("rename", what, EINVAL);
  if (dst != nullptr) {
    bool dst_dir = dst->type == FileType::kDirectory;
    if (src_dir && !dst_dir) return Err("rename", what, ENOTDIR);
    if (!src_dir && dst_dir) return Err("rename", what, EISDIR);
    if (dst_dir) {
      auto next = nodes_.upper_bound(to);
      if (next != nodes_.end() && IsUnder(next->first, to)) return Err("rename", what, ENOTEMPTY);
    }
  }
  Node moved = std::move(*src);
  std::vector<std::pair<std::string, Node>> children;
  if (src_dir) {
    for (auto it = nodes_.upper_bound(from); it != nodes_.end() && IsUnder(it->first, from);) {
      children.emplace_back(to + it->first.substr(from.size()), std::move(it->second));
      it = nodes_.erase(it);
    }
  }
  nodes_.erase(from);
  nodes_[to] = std::move(moved);  // replaces dst; open handles keep the old file's bytes
  for (auto& [path, node] : children) nodes_[path] = std::move(node);
  return Status::OK();
}

Status MemEnv::RemoveFile(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("remove", path, ENOENT);
  if (n->type == FileType::kDirectory) return Err("remove", path, EISDIR);
  nodes_.erase(path);
  return Status::OK();
}

Status MemEnv::RemoveDir(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("rmdir", path, ENOENT);
  if (n->type != FileType::kDirectory) return Err("rmdir", path, ENOTDIR);
  if (path == "/") return Err("rmdir", path, EBUSY);
  auto next = nodes_.upper_bound(path);
  if (next != nodes_.end() && IsUnder(next->first, path)) return Err("rmdir", path, ENOTEMPTY);
  nodes_.erase(path);
  return Status::OK();
}

Status MemEnv::CreateDirs(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  // Walk from the root: every existing component must be a directory.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty()) prefix = "/";
    Node* n = Find(prefix);
    if (n == nullptr) {
      if (nodes_.size() >= options_.capacity_inodes) return Err("mkdir", prefix, ENOSPC);
      nodes_[prefix] = Node{FileType::kDirectory, nullptr, clock_->NowNanos()};
    } else if (n->type != FileType::kDirectory) {
      return Err("mkdir", prefix, ENOTDIR);
    }
  }
  return Status::OK();
}

Status MemEnv::CreateDir(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  if (Find(path) != nullptr) return Err("mkdir", path, EEXIST);
  RETURN_IF_ERROR(CheckParent("mkdir", path));
  if (nodes_.size() >= options_.capacity_inodes) return Err("mkdir", path, ENOSPC);
  nodes_[path] = Node{FileType::kDirectory, nullptr, clock_->NowNanos()};
  return Status::OK();
}

Result<std::vector<DirEntry>> MemEnv::ListDir(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("list", path, ENOENT);
  if (n->type != FileType::kDirectory) return Err("list", path, ENOTDIR);
  size_t skip = path == "/" ? 1 : path.size() + 1;
  std::vector<DirEntry> out;
  for (auto it = nodes_.upper_bound(path); it != nodes_.end() && IsUnder(it->first, path); ++it) {
    std::string_view name = std::string_view(it->first).substr(skip);
    if (name.find('/') != std::string_view::npos) continue;  // deeper descendant
    out.push_back(DirEntry{std::string(name), it->second.type});
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileInfo> MemEnv::Stat(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("stat", path, ENOENT);
  FileInfo info;
  info.type = n->type;
  if (n->file) {
    std::lock_guard flock(n->file->mu);
    info.size = n->file->data.size();
    info.mtime_nanos = n->file->mtime;
  } else {
    info.mtime_nanos = n->mtime;
  }
  return info;
}

Status MemEnv::SyncDir(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) return Err("open directory", path, ENOENT);
  if (n->type != FileType::kDirectory) return Err("open directory", path, ENOTDIR);
  return Status::OK();
}

Status MemEnv::SyncFile(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckParent("open", path));
  Node* n = Find(path);
  if (n == nullptr) return Err("open", path, ENOENT);
  if (n->type == FileType::kDirectory) return Err("fsync", path, EISDIR);
  return Status::OK();
}

Result<SpaceInfo> MemEnv::GetSpace(const std::string& p) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::lock_guard lock(mu_);
  if (Find(path) == nullptr) return Err("statvfs", path, ENOENT);
  SpaceInfo info;
  info.total_bytes = space_->capacity;
  info.free_bytes = space_->capacity - std::min(space_->capacity, space_->used.load());
  info.total_inodes = options_.capacity_inodes;
  info.free_inodes =
      options_.capacity_inodes - std::min<uint64_t>(nodes_.size(), options_.capacity_inodes);
  return info;
}

Result<std::unique_ptr<FileLock>> MemEnv::LockFile(const std::string& p, LockType type, bool wait) {
  ASSIGN_OR_RETURN(std::string path, Normalize(p));
  std::unique_lock lock(mu_);
  Node* n = Find(path);
  if (n == nullptr) {
    RETURN_IF_ERROR(CheckParent("open lock file", path));
    auto file = std::make_shared<File>(space_);
    file->mtime = clock_->NowNanos();
    nodes_[path] = Node{FileType::kRegular, file, 0};
  } else if (n->type == FileType::kDirectory) {
    return Err("open lock file", path, EISDIR);
  }
  auto free = [&] {
    const LockState& s = locks_[path];
    return type == LockType::kShared ? !s.exclusive : (!s.exclusive && s.shared == 0);
  };
  if (!free()) {
    if (!wait) return Err("lock", path, EWOULDBLOCK);
    lock_cv_.wait(lock, free);
  }
  LockState& s = locks_[path];
  if (type == LockType::kShared) {
    s.shared++;
  } else {
    s.exclusive = true;
  }
  return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(this, path, type));
}

void MemEnv::Unlock(const std::string& path, LockType type) {
  std::lock_guard lock(mu_);
  auto it = locks_.find(path);
  if (it == locks_.end()) return;
  if (type == LockType::kShared) {
    it->second.shared--;
  } else {
    it->second.exclusive = false;
  }
  if (it->second.shared == 0 && !it->second.exclusive) locks_.erase(it);
  lock_cv_.notify_all();
}

}  // namespace strata
