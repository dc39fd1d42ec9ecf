// Env: every local-disk operation StrataFS performs goes through this interface (LevelDB
// style), so that the file:// object store, the disk cache and writeback staging run unchanged
// on the real disk (PosixEnv, posix_env.h), in memory (MemEnv, mem_env.h), and with injected
// faults (FaultyEnv, faulty_env.h).
//
// Paths are plain strings handed to the OS (PosixEnv) or absolute '/'-separated names
// (MemEnv). Nothing here caches or buffers: each call is one system call or a short sequence.
//
// Thread-safety: an Env may be used from many threads at once. A RandomAccessFile may be read
// from many threads at once (pread). A WritableFile is for one thread at a time.
//
// Errors: errno values become Status through FromErrno at this edge (ENOENT -> kNotFound,
// EEXIST -> kAlreadyExists, ENOSPC -> kNoSpace, EDQUOT -> kQuotaExceeded, EISDIR -> kIsDir,
// ENOTDIR -> kNotDir, ENOTEMPTY -> kNotEmpty, EWOULDBLOCK -> kWouldBlock, EIO -> kIOError...),
// with "operation path" as context, e.g. "NoSpace: append /c/x: No space left on device".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/block_buffer.h"
#include "common/status.h"

namespace strata {

enum class FileType : uint8_t { kRegular, kDirectory, kOther };

struct FileInfo {
  uint64_t size = 0;
  int64_t mtime_nanos = 0;  // since the Unix epoch
  FileType type = FileType::kRegular;
};

struct DirEntry {
  std::string name;  // no directory part; never "." or ".."
  FileType type = FileType::kRegular;
  bool operator==(const DirEntry&) const = default;
};

struct SpaceInfo {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to an unprivileged writer (statvfs f_bavail)
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
};

// How NewWritableFile opens a file. All three create the file when it is missing.
enum class OpenMode : uint8_t {
  kTruncate,   // an existing file is emptied
  kAppend,     // an existing file keeps its bytes; writes go to its end
  kCreateNew,  // fails with kAlreadyExists when the path exists (O_EXCL)
};

enum class LockType : uint8_t { kExclusive, kShared };

// A file opened for positional reads. It keeps reading the same file after that file is
// renamed or removed, as a POSIX descriptor does.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to `n` bytes at `offset` into `buf`; returns how many were read, fewer than `n`
  // only when the file ends first (0 at or past the end).
  virtual Result<size_t> ReadAt(uint64_t offset, size_t n, char* buf) const = 0;
  virtual Result<uint64_t> Size() const = 0;
  // The OS file descriptor, for zero-copy sends (sendfile); -1 when there is none (MemEnv).
  // Borrowed: valid while this object lives.
  virtual int NativeFd() const { return -1; }
  // Bytes [offset, offset + n), cut short at the end of the file.
  Result<std::string> Read(uint64_t offset, size_t n) const;
  // The same into a buffer that is not zero-filled first (ReadAt straight into it): for
  // blocks, which are read whole and often.
  Result<BlockBuffer> ReadToBuffer(uint64_t offset, size_t n) const;
};

// The most one write(2) of file data should pass to the kernel. A larger write makes ext4 (6.x,
// large folios) ask for folios as large as the write, and when free memory is fragmented the
// allocation compacts memory on the writer's CPU: on this project's VM, 1 GiB written as 256
// new 4 MiB files cost 0.7-3.1 s of CPU in single 4 MiB writes and 0.25-0.33 s in 1 MiB writes
// (bench/write_size.c; bench/RESULTS.md "Write size and the page cache"). The syscalls a larger
// write saves are worth nothing next to that.
inline constexpr size_t kMaxWriteSyscall = size_t{1} << 20;

// A file opened for appending. The destructor closes it, but only Close() reports a failure
// of that close: call it when the data matters. Append passes at most kMaxWriteSyscall bytes
// to each write(2).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end of the file (a short write is retried, never returned).
  virtual Status Append(std::string_view data) = 0;
  // Makes the appended bytes (and the file size) durable: fdatasync.
  virtual Status Sync() = 0;
  // Releases the file. Calling it again returns OK; Append/Sync after it are kBadHandle.
  virtual Status Close() = 0;
  // Size of the file as written through this handle (including bytes present at open).
  virtual uint64_t Size() const = 0;
};

// A held lock (flock semantics: between processes, and between two LockFile calls in one
// process). Destroying it releases the lock.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct AtomicWriteOptions {
  // fsync the temporary file before the rename and the directory after it, so the new file
  // survives a power loss (DESIGN.md §6 "two levels"). Without it the rename still makes the
  // file appear whole or not at all to readers and after a process crash.
  bool sync = false;
  // Fail with kAlreadyExists instead of replacing an existing file (RENAME_NOREPLACE).
  bool no_replace = false;
  // Where to write the temporary file; it must be in the directory of the target, be unused,
  // and be a name the caller's own listings skip. "" (default): TempPathFor(path).
  std::string temp_path;
};

class Env {
 public:
  Env();
  virtual ~Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // kNotFound when missing, kIsDir for a directory.
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  // kNotFound when the parent directory is missing; kIsDir when `path` is a directory.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                OpenMode mode) = 0;
  // rename(2): atomically replaces `to` (a file, or an empty directory when `from` is one).
  // With no_replace, kAlreadyExists when `to` exists (renameat2 RENAME_NOREPLACE).
  virtual Status Rename(const std::string& from, const std::string& to,
                        bool no_replace = false) = 0;
  // unlink(2): kNotFound when missing, kIsDir for a directory.
  virtual Status RemoveFile(const std::string& path) = 0;
  // rmdir(2): kNotEmpty unless empty, kNotDir for a file.
  virtual Status RemoveDir(const std::string& path) = 0;
  // mkdir -p: creates `path` and its missing parents; OK when it is already a directory;
  // kNotDir when it or a parent is a file.
  virtual Status CreateDirs(const std::string& path) = 0;
  // mkdir(2) of one directory: kAlreadyExists when `path` exists (as anything), kNotFound
  // when its parent is missing, kNotDir when its parent is a file. For callers that must
  // know which directories they created (to make those entries durable).
  virtual Status CreateDir(const std::string& path) = 0;
  // Entries of a directory sorted by name, without "." and "..".
  virtual Result<std::vector<DirEntry>> ListDir(const std::string& path) = 0;
  // stat(2), following symbolic links.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;
  // fsync of a directory, which makes creates, renames and removes inside it durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Makes an existing file's bytes and size durable without opening it for writing
  // (fdatasync through a read-only descriptor). kNotFound when missing, kNotDir when a
  // parent is a file, kIsDir for a directory (use SyncDir).
  virtual Status SyncFile(const std::string& path) = 0;
  // statvfs(2) of the file system holding `path`.
  virtual Result<SpaceInfo> GetSpace(const std::string& path) = 0;
  // flock(2) on `path` (created when missing). With wait=false a lock held elsewhere gives
  // kWouldBlock at once; with wait=true the call blocks until the lock is granted.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path, LockType type,
                                                     bool wait) = 0;

  // The one write-temp-then-rename of StrataFS (file:// objects and multipart parts, disk
  // cache blocks), built from the calls above so that wrappers see (and can
  // fail) every step: creates a new temporary file beside `path` (kCreateNew), writes it,
  // with options.sync fsyncs it, closes it, renames it over `path`, and with options.sync
  // fsyncs the directory. Readers see the old file or the new one, never a part. On failure
  // the temporary file is removed and `path` is untouched (unless the rename itself was
  // done and only the directory sync failed); the error of the first failing step is
  // returned: kNotFound when the directory is missing, kNoSpace, kIsDir when `path` is a
  // directory, kAlreadyExists with no_replace, kIOError...
  Status WriteFileAtomic(const std::string& path, std::string_view data,
                         const AtomicWriteOptions& options = {});
  // The same with the content produced by `fill`, which appends to the temporary file (so a
  // caller can write several pieces, or stream, without joining them in memory). An error
  // from `fill` fails the write as above and is returned as it is.
  Status WriteFileAtomic(const std::string& path,
                         const std::function<Status(WritableFile& file)>& fill,
                         const AtomicWriteOptions& options = {});
  // The whole content of a file.
  Result<std::string> ReadFile(const std::string& path);
  // The whole content of a file that does not change once written (a block, a cache file, a
  // staged block), in a buffer that is not zero-filled first: one read of the size the open
  // file has (unlike ReadFile, which reads on to EOF; a file that grows meanwhile is cut at
  // that size, one that shrinks gives fewer bytes: callers check a length or a checksum).
  Result<BlockBuffer> ReadFileToBuffer(const std::string& path);
  // The same, read past the host's page cache where the file system allows it (PosixEnv:
  // O_DIRECT; the kernel writes the file's dirty pages first, so the bytes are the file's).
  // For a disk cache whose blocks are kept above it anyway (the memory tier, the kernel's FUSE
  // page cache): a block read from it then costs no copy out of the page cache and is not
  // held in memory twice, which on a machine short of memory is page-cache reclaim on every
  // read (bench/RESULTS.md "The 4 GiB local and peer hit"). Defaults to ReadFileToBuffer
  // (MemEnv, FaultyEnv: their faults apply through NewRandomAccessFile); PosixEnv falls back
  // to it when the file system refuses O_DIRECT. Errors as ReadFileToBuffer.
  virtual Result<BlockBuffer> ReadFileUncached(const std::string& path) {
    return ReadFileToBuffer(path);
  }
  // A name beside `path` that no other call of this process or another process returns:
  // "<path>.tmp.<pid>.<sequence>.<random>". Temporary files can be found by the ".tmp." part.
  std::string TempPathFor(const std::string& path);

 private:
  std::atomic<uint64_t> tmp_seq_{0};
  uint64_t tmp_salt_;
};

// "a/b/c" -> "a/b"; "/c" -> "/"; "c" -> ".".
std::string Dirname(std::string_view path);
// "a" + "b" -> "a/b" (one '/' between them).
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace strata
