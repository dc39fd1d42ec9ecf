#include "object/file_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "common/logging.h"
#include "common/posix_env.h"
#include "object/file_cursor.h"
#include "object/file_util.h"
#include "object/key_listing.h"

namespace strata::object {

namespace fu = file_util;

namespace {
// How often Put retries when a concurrent Delete pruned the directory it was writing into.
constexpr int kPutAttempts = 8;
// Threads at most that one Sync call fsyncs its keys with (one per 4 keys below that).
constexpr size_t kMaxSyncThreads = 16;

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

bool IsMissing(const Status& s) { return s.Is(Code::kNotFound) || s.Is(Code::kNotDir); }
}  // namespace

FileStore::FileStore(std::unique_ptr<Env> own_env, Env* env, std::string root)
    : own_env_(std::move(own_env)),
      env_(env),
      root_(std::move(root)),
      temp_prefix_("%tmp-" + std::to_string(::getpid()) + "-" + RandomHex(4) + "-") {}

Result<std::unique_ptr<FileStore>> FileStore::Open(const std::string& root,
                                                   const Options& options) {
  if (root.empty() || root[0] != '/') {
    return Status::InvalidArgument("file store needs an absolute directory, got '" + root +
                                   "' (use file:///path)");
  }
  std::unique_ptr<Env> own_env;
  Env* env = options.env;
  if (env == nullptr) {
    own_env = std::make_unique<PosixEnv>();
    env = own_env.get();
  }
  std::string dir = root;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  Result<FileInfo> info = env->Stat(dir);
  if (!info.ok()) {
    if (!info.status().Is(Code::kNotFound) || !options.create_if_missing) {
      return info.status().WithContext("file store directory " + dir);
    }
    // CreateDirs names the level that failed.
    Status s = env->CreateDirs(dir);
    if (!s.ok()) return s.WithContext("cannot create file store directory " + dir);
  } else if (info->type != FileType::kDirectory) {
    return Status(Code::kNotDir, "file store path is not a directory: " + dir);
  }
  std::unique_ptr<FileStore> store(new FileStore(std::move(own_env), env, dir));
  // Writable? A probe file says so through the same Env every Put will use (an access(2)
  // check would bypass it). Its "%tmp-" name is never listed, even if the remove fails.
  const std::string probe = dir + "/" + store->TempName();
  Result<std::unique_ptr<WritableFile>> file = env->NewWritableFile(probe, OpenMode::kCreateNew);
  Status s = file.status();
  if (s.ok()) s = (*file)->Close();
  if (file.ok()) {
    Status removed = env->RemoveFile(probe);
    if (s.ok()) s = removed;
  }
  if (!s.ok()) return s.WithContext("file store directory " + dir + " is not writable");
  return store;
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

Status FileStore::MakeDir(const std::string& path, bool* created) const {
  *created = false;
  Status s = env_->CreateDir(path);
  if (s.ok()) {
    *created = true;
    return s;
  }
  if (!s.Is(Code::kAlreadyExists)) return s;
  ASSIGN_OR_RETURN(FileInfo info, env_->Stat(path));
  if (info.type != FileType::kDirectory) {
    return Status(Code::kAlreadyExists,
                  "an object already exists where a directory of keys is needed: " + path);
  }
  return Status::OK();
}

Status FileStore::MakeDirs(const std::string& dir) const {
  Status s;
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    // Fast path: the directory usually exists already.
    Result<FileInfo> info = env_->Stat(dir);
    if (info.ok() && info->type == FileType::kDirectory) return Status::OK();
    s = Status::OK();
    for (size_t pos = root_.size() + 1; pos <= dir.size() && s.ok(); ++pos) {
      if (pos != dir.size() && dir[pos] != '/') continue;
      std::string level = dir.substr(0, pos);
      bool created;
      s = MakeDir(level, &created);
      // Always, not only for a synced Put: Sync flushes a file and its own directory only, so
      // the entry of a new directory in its parent must be durable already. New directories
      // are rare (one per 1000 slices for block keys), so this costs little.
      if (s.ok() && created) s = env_->SyncDir(Dirname(level));
    }
    // kNotFound: a concurrent Delete pruned a parent we had just seen or made; start over.
    if (!s.Is(Code::kNotFound)) return s;
  }
  return s;
}

Status FileStore::WriteAtomically(const std::string& key, const std::string& path, bool sync,
                                  const std::function<Status(WritableFile& file)>& fill) {
  const std::string dir = Dirname(path);
  Status s;
  for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
    RETURN_IF_ERROR(MakeDirs(dir).WithContext("put " + key));
    AtomicWriteOptions options;
    options.sync = sync;
    options.temp_path = dir + "/" + TempName();
    s = env_->WriteFileAtomic(path, fill, options);
    if (s.ok()) return s;
    // kNotFound: a concurrent Delete pruned the directory (before the temporary file was
    // created in it, or after the rename, when the directory sync finds it gone): write again.
    // Retrying is right in the second case too, as the Put may be ordered after that Delete.
    if (s.Is(Code::kNotFound)) continue;
    if (s.Is(Code::kIsDir)) {
      return Status(
          Code::kAlreadyExists,
          "put " + key + ": file:// cannot hold an object where keys '" + key + "/...' exist");
    }
    return s.WithContext("put " + key);
  }
  return Status::IOError("put " + key + ": directory kept disappearing under " + dir + " (" +
                         s.ToString() + ")");
}

Status FileStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return WriteAtomically(key, path, opts.sync,
                         [data](WritableFile& file) { return file.Append(data); });
}

Status FileStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                           const PutOptions& opts) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  return WriteAtomically(key, path, opts.sync, [&parts](WritableFile& file) {
    for (std::string_view p : parts) RETURN_IF_ERROR(file.Append(p));
    return Status::OK();
  });
}

Result<std::unique_ptr<RandomAccessFile>> FileStore::OpenObject(const std::string& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  Result<std::unique_ptr<RandomAccessFile>> file = env_->NewRandomAccessFile(path);
  if (!file.ok()) {
    // A directory of other keys is not an object either.
    if (IsMissing(file.status()) || file.status().Is(Code::kIsDir)) {
      return Status::NotFound("no such key: " + key);
    }
    return file.status().WithContext("get " + key);
  }
  return file;
}

Result<std::string> FileStore::Get(const std::string& key, uint64_t off, int64_t len) {
  ASSIGN_OR_RETURN(auto file, OpenObject(key));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (off >= size) return std::string();
  uint64_t n = size - off;
  if (len >= 0 && static_cast<uint64_t>(len) < n) n = static_cast<uint64_t>(len);
  Result<std::string> out = file->Read(off, n);
  if (!out.ok()) return out.status().WithContext("get " + key);
  return out;
}

Result<BlockBuffer> FileStore::GetBuffer(const std::string& key) {
  ASSIGN_OR_RETURN(auto file, OpenObject(key));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  // An object file is replaced by a rename, never written in place: its size is the body's.
  Result<BlockBuffer> out = file->ReadToBuffer(0, size);
  if (!out.ok()) return out.status().WithContext("get " + key);
  return out;
}

Result<ObjectInfo> FileStore::Head(const std::string& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  Result<FileInfo> st = env_->Stat(path);
  if (!st.ok()) {
    if (IsMissing(st.status())) return Status::NotFound("no such key: " + key);
    return st.status().WithContext("head " + key);
  }
  if (st->type == FileType::kDirectory) return Status::NotFound("no such key: " + key);
  ObjectInfo info;
  info.key = key;
  info.size = st->size;
  info.mtime_ns = st->mtime_nanos;
  return info;
}

void FileStore::PruneEmptyDirs(std::string dir) const {
  // RemoveDir fails on a non-empty directory, which ends the walk; a concurrent Put that loses
  // its directory this way recreates it (WriteAtomically). Other errors are logged, not
  // returned: the Delete itself succeeded, and a directory left behind is only empty.
  while (dir.size() > root_.size()) {
    Status s = env_->RemoveDir(dir);
    if (!s.ok()) {
      if (!s.Is(Code::kNotEmpty) && !s.Is(Code::kNotFound)) {
        LOG_WARN("file store {}: cannot remove empty directory: {}", root_, s.ToString());
      }
      return;
    }
    dir = Dirname(dir);
  }
}

Status FileStore::Delete(const std::string& key) {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  Status s = env_->RemoveFile(path);
  if (!s.ok()) {
    if (IsMissing(s) || s.Is(Code::kIsDir)) return Status::OK();
    return s.WithContext("delete " + key);
  }
  PruneEmptyDirs(Dirname(path));
  return Status::OK();
}

Status FileStore::SyncFile(const std::string& key, std::set<std::string>* dirs) const {
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  Status s = env_->SyncFile(path);
  // Missing as Get sees it: nothing stored, nothing to make durable. A directory of other
  // keys is no object: skipped.
  if (IsMissing(s) || s.Is(Code::kIsDir)) return Status::OK();
  if (!s.ok()) return s.WithContext("sync " + key);
  dirs->insert(Dirname(path));
  return Status::OK();
}

Status FileStore::Sync(const std::vector<std::string>& keys) {
  // Every key is tried even after a failure (fsync is idempotent, and the others then need
  // no retry to be durable); the first error is returned.
  Status first;
  std::set<std::string> dirs;  // distinct, so keys sharing a directory flush it once
  // Many keys (an fsync after a large write: one per 4 MiB block) are synced by a few threads
  // at once: concurrent fsyncs share journal commits and device flushes, which one after
  // another each pay alone (128 files of 4 MiB: 0.28 s with 16 threads against 0.45-0.80 s
  // with one, on this project's test machine). Joined before returning.
  const size_t threads = std::min<size_t>(kMaxSyncThreads, keys.size() / 4);
  if (threads <= 1) {
    for (const std::string& key : keys) {
      Status s = SyncFile(key, &dirs);
      if (!s.ok() && first.ok()) first = s;
    }
  } else {
    std::mutex mu;  // guards first and dirs
    std::atomic<size_t> next{0};
    auto work = [&] {
      std::set<std::string> mine;
      for (size_t i; (i = next.fetch_add(1)) < keys.size();) {
        Status s = SyncFile(keys[i], &mine);
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (first.ok()) first = s;
        }
      }
      std::lock_guard lock(mu);
      dirs.insert(mine.begin(), mine.end());
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; t++) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  for (const std::string& dir : dirs) {
    Status s = env_->SyncDir(dir);
    // Gone (kNotFound, or kNotDir when an object took its name): every object in it was
    // deleted since and Delete pruned it; nothing is left to keep.
    if (s.ok() || IsMissing(s)) continue;
    if (first.ok()) first = s.WithContext("sync");
  }
  return first;
}

Result<ListResult> FileStore::List(const ListOptions& opts) {
  FileCursor cursor(env_, root_);
  return ListFromCursor(cursor, opts);
}

}  // namespace strata::object
