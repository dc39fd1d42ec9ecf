// PosixEnv: the Env over the local file system through POSIX/Linux system calls (pread,
// O_APPEND writes, fdatasync, renameat2, flock, statvfs). Every descriptor is O_CLOEXEC.
//
// Thread-safety: as Env (env.h). PosixEnv keeps no state beyond the temporary-name counter,
// so one instance can serve a whole process; components given no Env (the file:// store, the
// block cache) own one of their own.
// Errors: errno through FromErrno, context "operation path".
#pragma once

#include "common/env.h"

namespace strata {

class PosixEnv final : public Env {
 public:
  PosixEnv() = default;

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        OpenMode mode) override;
  // Uses renameat2(RENAME_NOREPLACE) for no_replace; on file systems that refuse the flag
  // (EINVAL), falls back to link(2) + unlink(2), which is equally atomic for regular files.
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
  // O_DIRECT into a 4 KiB-aligned window of the buffer; ReadFileToBuffer where the file
  // system refuses O_DIRECT (EINVAL at open or at the first read: tmpfs before 6.6, FUSE...).
  Result<BlockBuffer> ReadFileUncached(const std::string& path) override;
};

}  // namespace strata
