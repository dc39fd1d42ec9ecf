// MemEnv: an Env held entirely in memory, for tests of the disk cache, writeback staging and
// the file:// store without touching the disk. It follows POSIX where tests can notice:
//   - paths must be absolute; "//", "." and ".." are resolved lexically; "/" always exists;
//   - a file needs its parent directory; open files keep their bytes after rename or remove;
//   - rename replaces files and empty directories, refuses to move a directory into itself;
//   - a capacity: writes that would exceed it fail with kNoSpace, and GetSpace reports it
//     (bytes of removed files are released when their last handle closes, as on a disk);
//   - locks behave like flock between LockFile calls (shared/exclusive, wait or kWouldBlock);
//   - mtimes come from the given Clock (a FakeClock makes them deterministic).
// Sync, SyncFile and SyncDir check their target exists and do nothing else: there is no crash to
// survive in memory. For fault injection wrap it in a FaultyEnv.
//
// Thread-safety: as Env (env.h); one mutex guards the namespace, one per file its bytes.
// Errors: the same codes PosixEnv gives for the same mistakes.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "common/env.h"

namespace strata {

class MemEnv final : public Env {
 public:
  struct Options {
    uint64_t capacity_bytes = 1ULL << 40;  // 1 TiB: reported by GetSpace, enforced by Append
    uint64_t capacity_inodes = 1ULL << 32;
    const Clock* clock = nullptr;  // nullptr: SystemClock::Get(). Not owned; must outlive.
  };

  MemEnv() : MemEnv(Options{}) {}
  explicit MemEnv(const Options& options);
  ~MemEnv() override;

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        OpenMode mode) override;
  Status Rename(const std::string& from, const std::string& to,
                bool no_replace = false) override;  // same default as Env
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Result<std::vector<DirEntry>> ListDir(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status SyncFile(const std::string& path) override;
  Result<SpaceInfo> GetSpace(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockType type,
                                             bool wait) override;

  // Implementation types, public only so that the .cc's helpers can name them.
  struct File;
  struct Node;
  struct Space;

 private:
  friend class MemFileLock;
  // REQUIRES: mu_ held. The node at a normalised path, or nullptr.
  Node* Find(const std::string& path);
  // REQUIRES: mu_ held. OK when the parent of `path` exists and is a directory.
  Status CheckParent(std::string_view op, const std::string& path);
  void Unlock(const std::string& path, LockType type);

  const Options options_;
  const Clock* clock_;
  std::shared_ptr<Space> space_;  // shared with open files, which release bytes on destruction
  std::mutex mu_;
  std::map<std::string, Node> nodes_;  // normalised path -> node; "/" always present
  struct LockState {
    int shared = 0;
    bool exclusive = false;
  };
  std::map<std::string, LockState> locks_;
  std::condition_variable lock_cv_;
};

}  // namespace strata
