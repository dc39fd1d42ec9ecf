#include "common/posix_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace strata {

namespace {

Status Errno(std::string_view op, const std::string& path, int err = errno) {
  std::string ctx(op);
  ctx += ' ';
  ctx += path;
  return FromErrno(err, ctx);
}

FileType TypeOfMode(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  return FileType::kOther;
}

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { close(fd_); }

  Result<size_t> ReadAt(uint64_t offset, size_t n, char* buf) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno("read", path_);
      }
      if (r == 0) break;  // end of file
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return Errno("fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  int NativeFd() const override { return fd_; }

 private:
  std::string path_;
  int fd_;
};

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) close(fd_);  // errors here are lost by contract: callers use Close()
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status(Code::kBadHandle, "append to closed file " + path_);
    while (!data.empty()) {
      ssize_t w = write(fd_, data.data(), std::min(data.size(), kMaxWriteSyscall));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("append", path_);
      }
      data.remove_prefix(static_cast<size_t>(w));
      size_ += static_cast<uint64_t>(w);
    }
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return Status(Code::kBadHandle, "sync of closed file " + path_);
    if (fdatasync(fd_) != 0) return Errno("fsync", path_);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    int r = close(fd_);
    fd_ = -1;
    // Linux releases the descriptor even when close fails; never retry it.
    if (r != 0) return Errno("close", path_);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { close(fd_); }  // closing the descriptor releases the flock

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<RandomAccessFile>> PosixEnv::NewRandomAccessFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = Errno("fstat", path);
    close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return Errno("open", path, EISDIR);
  }
  return std::unique_ptr<RandomAccessFile>(std::make_unique<PosixRandomAccessFile>(path, fd));
}

Result<std::unique_ptr<WritableFile>> PosixEnv::NewWritableFile(const std::string& path,
                                                                OpenMode mode) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  switch (mode) {
    case OpenMode::kTruncate:
      flags |= O_TRUNC;
      break;
    case OpenMode::kAppend:
      flags |= O_APPEND;
      break;
    case OpenMode::kCreateNew:
      flags |= O_EXCL;
      break;
  }
  int fd = open(path.c_str(), flags, 0644);
  if (fd < 0) return Errno("create", path);
  uint64_t size = 0;
  if (mode == OpenMode::kAppend) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      Status s = Errno("fstat", path);
      close(fd);
      return s;
    }
    size = static_cast<uint64_t>(st.st_size);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, size));
}

Status PosixEnv::Rename(const std::string& from, const std::string& to, bool no_replace) {
  if (!no_replace) {
    if (rename(from.c_str(), to.c_str()) != 0) return Errno("rename", from + " -> " + to);
    return Status::OK();
  }
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return Status::OK();
  }
  int err = errno;
  if (err != EINVAL && err != ENOSYS) return Errno("rename", from + " -> " + to, err);
  // The file system does not support the flag: link() refuses an existing target atomically.
  struct stat st;
  if (lstat(from.c_str(), &st) != 0) return Errno("rename", from);
  if (S_ISDIR(st.st_mode)) return Errno("rename (no-replace) of directory", from, err);
  if (link(from.c_str(), to.c_str()) != 0) return Errno("rename", from + " -> " + to);
  if (unlink(from.c_str()) != 0) return Errno("rename: unlink", from);
  return Status::OK();
}

Status PosixEnv::RemoveFile(const std::string& path) {
  if (unlink(path.c_str()) != 0) {
    // Linux says EISDIR for unlink of a directory; some systems say EPERM.
    int err = errno;
    struct stat st;
    if (err == EPERM && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
    return Errno("remove", path, err);
  }
  return Status::OK();
}

Status PosixEnv::RemoveDir(const std::string& path) {
  if (rmdir(path.c_str()) != 0) {
    int err = errno == EEXIST ? ENOTEMPTY : errno;
    return Errno("rmdir", path, err);
  }
  return Status::OK();
}

Status PosixEnv::CreateDirs(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("create directories: empty path");
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::OK() : Errno("mkdir", path, ENOTDIR);
  }
  std::string parent = Dirname(path);
  if (parent != path && parent != "." && parent != "/") RETURN_IF_ERROR(CreateDirs(parent));
  if (mkdir(path.c_str(), 0755) != 0) {
    int err = errno;
    // Another thread or process may have made it meanwhile.
    if (err == EEXIST && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::OK();
    }
    return Errno("mkdir", path, err == EEXIST ? ENOTDIR : err);
  }
  return Status::OK();
}

Status PosixEnv::CreateDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0) return Errno("mkdir", path);
  return Status::OK();
}

Result<std::vector<DirEntry>> PosixEnv::ListDir(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return Errno("list", path);
  std::vector<DirEntry> out;
  while (true) {
    errno = 0;
    dirent* e = readdir(dir);
    if (e == nullptr) {
      if (errno != 0) {
        Status s = Errno("list", path);
        closedir(dir);
        return s;
      }
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    FileType type = FileType::kOther;
    if (e->d_type == DT_REG) {
      type = FileType::kRegular;
    } else if (e->d_type == DT_DIR) {
      type = FileType::kDirectory;
    } else if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = TypeOfMode(st.st_mode);
      }
    }
    out.push_back(DirEntry{std::string(name), type});
  }
  closedir(dir);
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileInfo> PosixEnv::Stat(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Errno("stat", path);
  FileInfo info;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_nanos = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  info.type = TypeOfMode(st.st_mode);
  return info;
}

Status PosixEnv::SyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", path);
  Status s;
  if (fsync(fd) != 0) s = Errno("fsync directory", path);
  close(fd);
  return s;
}

Status PosixEnv::SyncFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  Status s;
  if (fstat(fd, &st) != 0) {
    s = Errno("fstat", path);
  } else if (S_ISDIR(st.st_mode)) {
    s = Errno("fsync", path, EISDIR);
  } else if (fdatasync(fd) != 0) {
    s = Errno("fsync", path);
  }
  close(fd);
  return s;
}

Result<SpaceInfo> PosixEnv::GetSpace(const std::string& path) {
  struct statvfs vfs;
  if (statvfs(path.c_str(), &vfs) != 0) return Errno("statvfs", path);
  SpaceInfo info;
  info.total_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  info.free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  info.total_inodes = vfs.f_files;
  info.free_inodes = vfs.f_favail;
  return info;
}

Result<std::unique_ptr<FileLock>> PosixEnv::LockFile(const std::string& path, LockType type,
                                                     bool wait) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open lock file", path);
  int op = (type == LockType::kExclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  while (flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    Status s = Errno("lock", path);
    close(fd);
    return s;
  }
  return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
}

Result<BlockBuffer> PosixEnv::ReadFileUncached(const std::string& path) {
  // O_DIRECT wants the buffer, the offset and the length aligned to the device's logical
  // block; 4 KiB covers every block size Linux file systems use. The read asks for the size
  // rounded up and the kernel stops it at the end of the file.
  constexpr size_t kAlign = 4096;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0) {
    if (errno == EINVAL) return ReadFileToBuffer(path);  // no O_DIRECT on this file system
    return Errno("open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    Status s = Errno("fstat", path);
    close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return Errno("open", path, EISDIR);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  const size_t span = (size + kAlign - 1) / kAlign * kAlign;
  BlockBuffer b = BlockBuffer::Uninitialized(span + kAlign);  // not zero-filled: every kept
  char* base = b.mutable_data();                              // byte is read
  const size_t skip = (kAlign - reinterpret_cast<uintptr_t>(base) % kAlign) % kAlign;
  char* p = base + skip;
  size_t done = 0;
  while (done < span) {
    ssize_t r = pread(fd, p + done, span - done, static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      // Refused at the first read (an alignment this file system will not take): buffered.
      if (err == EINVAL && done == 0) return ReadFileToBuffer(path);
      return Errno("read", path, err);
    }
    if (r == 0) break;  // end of file
    done += static_cast<size_t>(r);
    if (done % kAlign != 0) break;  // a direct read ends short only at the end of the file
  }
  close(fd);
  b.Narrow(skip, std::min(done, size));  // cut at the size the open file had, as ReadFileToBuffer
  return b;
}

}  // namespace strata
