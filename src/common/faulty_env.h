// FaultyEnv: an Env wrapper for tests that makes chosen calls fail with a chosen errno, so
// that callers' handling of a full disk (ENOSPC on write), a failing disk (EIO on fsync) and
// the like can be tested on PosixEnv or MemEnv (DESIGN.md "Tests": faults come from wrappers).
//
// A rule names an operation, a path prefix and an errno; it fires on every Nth matching call
// (every call by default), optionally only a limited number of times. A firing call does
// nothing in the wrapped Env (no partial write) and returns FromErrno(errno, "injected ...").
// Files opened through a FaultyEnv check the rules on each Append/Sync/ReadAt.
//
// Thread-safety: as Env; rules may be added or cleared while other threads use the Env.
// Lifetime: the wrapped Env must outlive the FaultyEnv, and the FaultyEnv every file it opened.
#pragma once

#include <cerrno>
#include <mutex>
#include <string>
#include <vector>

#include "common/env.h"

namespace strata {

enum class FaultOp : uint8_t {
  kOpen,    // NewRandomAccessFile, NewWritableFile
  kRead,    // RandomAccessFile::ReadAt
  kWrite,   // WritableFile::Append
  kSync,    // WritableFile::Sync, SyncFile, SyncDir
  kClose,   // WritableFile::Close (the file is closed anyway, as close(2) does)
  kRename,  // Rename (matches either path)
  kRemove,  // RemoveFile, RemoveDir
  kMkdir,   // CreateDirs, CreateDir
  kList,    // ListDir
  kStat,    // Stat, GetSpace
  kLock,    // LockFile
};

struct FaultRule {
  FaultOp op = FaultOp::kWrite;
  std::string path_prefix;  // "" matches every path
  int error = EIO;          // errno to inject
  uint64_t every_nth = 1;   // fire on the Nth, 2Nth, ... matching call (1: every call)
  uint64_t max_faults = 0;  // stop firing after this many (0: no limit)
};

class FaultyEnv final : public Env {
 public:
  explicit FaultyEnv(Env* target);  // not owned

  void AddRule(const FaultRule& rule);
  void ClearRules();
  // How many faults have been injected since construction.
  uint64_t faults_injected() const;

  // The injected error for this call, or OK. Used by the files this Env opens.
  Status Check(FaultOp op, const std::string& path, const std::string& path2 = "");

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

 private:
  struct ActiveRule {
    FaultRule rule;
    uint64_t calls = 0;
    uint64_t fired = 0;
  };
  Env* const target_;
  mutable std::mutex mu_;
  std::vector<ActiveRule> rules_;
  uint64_t injected_ = 0;
};

}  // namespace strata
