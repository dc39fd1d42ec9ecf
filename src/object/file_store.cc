#include "object/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "object/file_cursor.h"
#include "object/file_util.h"
#include "object/key_listing.h"

namespace strata::object {

namespace fu = file_util;

namespace {
// How often Put retries when a concurrent Delete pruned the directory it was writing into.
constexpr int kPutAttempts = 8;

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    out += kHex[v >> 4];
    out += kHex[v & 15];
  }
  return out;
}

Status MkdirOne(const std::string& path, bool* created) {
  *created = false;
  if (::mkdir(path.c_str(), 0755) == 0) {
    *created = true;
    return Status::OK();
  }
  if (errno != EEXIST) return FromErrno(errno, "create directory " + path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FromErrno(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kAlreadyExists,
                  "an object already exists where a directory of keys is needed: " + path);
  }
  return Status::OK();
}
}  // namespace

FileStore::FileStore(std::string root)
    : root_(std::move(root)),
      temp_prefix_("%tmp-" + std::to_string(::getpid()) + "-" + RandomHex(4) + "-") {}

Result<std::unique_ptr<FileStore>> FileStore::Open(const std::string& root,
                                                   const Options& options) {
  if (root.empty() || root[0] != '/') {
    return Status::InvalidArgument("file store needs an absolute directory, got '" + root +
                                   "' (use file:///path)");
  }
  std::string dir = root;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT || !options.create_if_missing) {
      return FromErrno(errno, "file store directory " + dir);
    }
    // mkdir -p, one level at a time, so the error names the level that failed.
    for (size_t pos = 1; pos <= dir.size(); ++pos) {
      if (pos != dir.size() && dir[pos] != '/') continue;
      bool created;
      Status s = MkdirOne(dir.substr(0, pos), &created);
      if (!s.ok()) return s.WithContext("cannot create file store directory " + dir);
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return Status(Code::kNotDir, "file store path is not a directory: " + dir);
  }
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return FromErrno(errno, "file store directory " + dir + " is not writable");
  }
  return std::unique_ptr<FileStore>(new FileStore(dir));
}

Result<std::string> FileStore::KeyPath(const std::string& key) const {
  RETURN_IF_ERROR(CheckKey(key));
  std::string path = root_;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    std::string_view seg = std::string_view(key).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    ASSIGN_OR_RETURN(std::string name, fu::EncodeSegment(seg));
    path += '/';
    path += name;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return path;
}

std::string FileStore::TempName() {
  return temp_prefix_ + std::to_string(temp_counter_.fetch_add(1));
}

Status FileStore::MakeDirs(const std::string& dir) const {
  Status s;
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    // Fast path: the directory usually exists already.
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();
    s = Status::OK();
    for (size_t pos = root_.size() + 1; pos <= dir.size() && s.ok(); ++pos) {
      if (pos != dir.size() && dir[pos] != '/') continue;
      std::string level = dir.substr(0, pos);
      bool created;
      s = MkdirOne(level, &created);
      // Always, not only for a synced Put: Sync flushes a file and its own directory only, so
      // the entry of a new directory in its parent must be durable already. New directories
      // are rare (one per 1000 slices for block keys), so this costs little.
      if (s.ok() && created) s = fu::FsyncDir(fu::Dirname(level));
    }
    // kNotFound: a concurrent Delete pruned a parent we had just seen or made; start over.
    if (!s.Is(Code::kNotFound)) return s;
  }
  return s;
}

Status FileStore::WriteAtomically(const std::string& key, const std::string& path, bool sync,
                                  const std::function<Status(int fd)>& fill) {
  const std::string dir = fu::Dirname(path);
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    RETURN_IF_ERROR(MakeDirs(dir).WithContext("put " + key));
    std::string tmp = dir + "/" + TempName();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // directory pruned by a concurrent Delete
      return FromErrno(errno, "put " + key + ": create " + tmp);
    }
    Status s = fill(fd);
    if (s.ok() && sync && ::fsync(fd) != 0) s = FromErrno(errno, "put " + key + ": fsync");
    if (::close(fd) != 0 && s.ok()) s = FromErrno(errno, "put " + key + ": close");
    if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      if (err == EISDIR) {
        s = Status(
            Code::kAlreadyExists,
            "put " + key + ": file:// cannot hold an object where keys '" + key + "/...' exist");
      } else {
        s = FromErrno(err, "put " + key + ": rename");
      }
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());  // best effort: an orphan temp file is never listed
      return s;
    }
    if (sync) RETURN_IF_ERROR(fu::FsyncDir(dir).WithContext("put " + key));
    return Status::OK();
  }
  return Status::IOError("put " + key + ": directory kept disappearing under " + dir);
}

Status FileStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return WriteAtomically(key, path, opts.sync, [&](int fd) { return fu::WriteAll(fd, data, key); });
}

Result<std::string> FileStore::Get(const std::string& key, uint64_t off, int64_t len) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no such key: " + key);
    return FromErrno(errno, "get " + key);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return FromErrno(err, "get " + key);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::NotFound("no such key: " + key);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string out;
  Status s;
  if (off < size) {
    uint64_t n = size - off;
    if (len >= 0 && static_cast<uint64_t>(len) < n) n = static_cast<uint64_t>(len);
    s = fu::ReadAt(fd, off, n, &out, key);
  }
  ::close(fd);
  if (!s.ok()) return s;
  return out;
}

Result<ObjectInfo> FileStore::Head(const std::string& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound("no such key: " + key);
    return FromErrno(errno, "head " + key);
  }
  if (S_ISDIR(st.st_mode)) return Status::NotFound("no such key: " + key);
  ObjectInfo info;
  info.key = key;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return info;
}

void FileStore::PruneEmptyDirs(std::string dir) const {
  // rmdir fails on a non-empty directory, which ends the walk; a concurrent Put that loses its
  // directory this way recreates it (WriteAtomically).
  while (dir.size() > root_.size() && ::rmdir(dir.c_str()) == 0) dir = fu::Dirname(dir);
}

Status FileStore::Delete(const std::string& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) return Status::OK();
    return FromErrno(err, "delete " + key);
  }
  PruneEmptyDirs(fu::Dirname(path));
  return Status::OK();
}

Status FileStore::SyncFile(const std::string& key, std::set<std::string>* dirs) const {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // Missing as Get sees it: nothing stored, nothing to make durable.
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return FromErrno(errno, "sync " + key);
  }
  struct stat st;
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = FromErrno(errno, "sync " + key);
  } else if (!S_ISDIR(st.st_mode)) {  // a directory of other keys is no object: skipped
    if (::fsync(fd) != 0) {
      s = FromErrno(errno, "sync " + key + ": fsync");
    } else {
      dirs->insert(fu::Dirname(path));
    }
  }
  ::close(fd);
  return s;
}

Status FileStore::Sync(const std::vector<std::string>& keys) {
  // Every key is tried even after a failure (fsync is idempotent, and the others then need
  // no retry to be durable); the first error is returned.
  Status first;
  std::set<std::string> dirs;  // distinct, so keys sharing a directory flush it once
  for (const std::string& key : keys) {
    Status s = SyncFile(key, &dirs);
    if (!s.ok() && first.ok()) first = s;
  }
  for (const std::string& dir : dirs) {
    Status s = fu::FsyncDir(dir);
    // Gone (kNotFound, or kNotDir when an object took its name): every object in it was
    // deleted since and Delete pruned it; nothing is left to keep.
    if (s.ok() || s.Is(Code::kNotFound) || s.Is(Code::kNotDir)) continue;
    if (first.ok()) first = s.WithContext("sync");
  }
  return first;
}

Result<ListResult> FileStore::List(const ListOptions& opts) {
  FileCursor cursor(root_);
  return ListFromCursor(cursor, opts);
}

}  // namespace strata::object
