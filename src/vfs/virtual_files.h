// VirtualFiles: files at the mount root that exist in no metadata engine — `.stats` (the
// client's metrics as Prometheus text), `.accesslog` (one line per operation while open:
// access_log.h) and `.config` (the client's effective options as JSON, secrets masked). The
// Volume answers for them before it asks Meta, so the FUSE adapter and the gateway share them.
//
// Rules (docs/format/virtual-files.md has the inode numbers):
// - Reserved inodes kVirtualInoBase + 1..3, above every inode Meta hands out and below the
//   trash's range; the same in every mount (a --subdir mount shows them at its own root).
// - Found by name only (lookup at the root); never listed by readdir.
// - Read-only and permanent: opening for writing, truncating, chmod/chown/utimes, unlink,
//   rename from or onto them, link and xattr changes fail with EPERM; creating a name that a
//   virtual file holds fails with EEXIST.
// - `.stats` and `.config` are rendered once per open, so a reader sees one consistent text
//   however it reads it; their size is the current text's length. `.accesslog` streams: a
//   read waits for new lines (direct I/O, size 0), as `tail -f` would want.
//
// Thread-safety: every method may be called from any thread. Errors: kNotFound for an inode
// or handle that is not virtual, kNotPermitted for writes, kInterrupted from a waiting read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "meta/types.h"
#include "vfs/access_log.h"

namespace strata::vfs {

constexpr meta::Ino kVirtualInoBase = meta::kFirstReservedIno;
constexpr meta::Ino kStatsIno = kVirtualInoBase + 1;
constexpr meta::Ino kAccessLogIno = kVirtualInoBase + 2;
constexpr meta::Ino kConfigIno = kVirtualInoBase + 3;

inline bool IsVirtualIno(meta::Ino ino) { return ino >= kStatsIno && ino <= kConfigIno; }

// What the composition root feeds the virtual files with. Each function is called on a
// request thread and must be thread-safe; an empty one makes its file empty.
struct VirtualSources {
  std::function<std::string()> stats;   // Prometheus text of the client's registry
  std::function<std::string()> config;  // effective options as JSON, secrets masked
  Clock* clock = nullptr;               // stamps and times (nullptr: SystemClock)
};

class VirtualFiles {
 public:
  explicit VirtualFiles(VirtualSources sources);
  ~VirtualFiles();  // wakes waiting readers (AccessLog::Shutdown)
  VirtualFiles(const VirtualFiles&) = delete;
  VirtualFiles& operator=(const VirtualFiles&) = delete;

  // The virtual inode named `name` in the mount root, if any.
  static std::optional<meta::Ino> Find(std::string_view name);
  // True when `name` in directory `parent` (client inode) is a virtual file's name.
  static bool Reserved(meta::Ino parent, std::string_view name) {
    return parent == meta::kRootIno && Find(name).has_value();
  }

  // REQUIRES: IsVirtualIno(ino) for the rest.
  meta::Attr GetAttr(meta::Ino ino);
  // flags as open(2): anything but O_RDONLY (or O_TRUNC) is kNotPermitted. Returns a handle.
  Result<uint64_t> Open(meta::Ino ino, int flags);
  // Reads at `off` (ignored for the access log: it is a stream).
  Status Read(uint64_t fh, uint64_t off, size_t size, std::string* out,
              const std::function<bool()>& interrupted);
  Status Release(uint64_t fh);

  AccessLog& access_log() { return access_log_; }

 private:
  struct Handle {
    meta::Ino ino = 0;
    std::string text;     // .stats / .config: rendered at open
    uint64_t reader = 0;  // .accesslog: the AccessLog reader
  };
  std::string Render(meta::Ino ino);

  VirtualSources sources_;
  Clock* const clock_;
  const int64_t created_ns_;  // mtime/ctime of the virtual files
  AccessLog access_log_;
  std::mutex mu_;
  std::map<uint64_t, Handle> handles_;  // guarded by mu_
  uint64_t next_fh_ = 1;                // guarded by mu_
};

}  // namespace strata::vfs
