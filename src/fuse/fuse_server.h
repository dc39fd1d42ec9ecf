// FuseServer: serves one vfs::Volume on a mount point through the libfuse3 low-level API
// (multi-threaded loop with clone_fd, splice, 1 MiB max_write). It is a thin adapter: each
// callback converts arguments to plain types, calls the Volume, converts the Status to an errno
// with strata::ToErrno, and replies. The server reaches its state through fuse_req_userdata,
// never through globals.
//
// Lifecycle: Mount() creates the session and mounts (the mount point is live when it returns);
// Run() serves requests until the file system is unmounted (fusermount3 -u / umount) or Stop()
// is called (SIGINT/SIGTERM/SIGHUP do that when handle_signals); the destructor unmounts.
//
// Thread-safety: Stop() may be called from any thread; the rest from the owning thread.
// Errors: kUnavailable "no /dev/fuse" when FUSE is missing, kBusy when the mount point is
// already a mount, kNotFound when it does not exist, kIOError for other mount failures.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "vfs/vfs.h"

struct fuse_session;

namespace strata::fuse {

class FuseOpMetrics;  // op_metrics.h

struct FuseOptions {
  double attr_timeout = 1.0;      // kernel attribute cache, seconds
  double entry_timeout = 1.0;     // kernel dentry cache, seconds
  double negative_timeout = 0.0;  // cache of "no such name"; 0 = not cached
  bool writeback_cache = false;   // kernel write-back caching (FUSE_CAP_WRITEBACK_CACHE)
  int max_threads = 32;           // worker threads of the multi-threaded loop
  uint32_t max_write = 1 << 20;   // largest WRITE request (1 MiB)
  // The kernel's readahead for this mount (its bdi's read_ahead_kb), which also sizes READ
  // requests of buffered reads: the kernel offers only 128 KiB at INIT, so a sequential
  // reader sent 128 KiB requests. Set through sysfs after mounting when we may (root);
  // 0 leaves the kernel's value.
  uint32_t max_readahead = 1 << 20;
  bool allow_other = false;       // -o allow_other
  // The kernel checks permissions from cached attributes too (-o default_permissions): path
  // components found in the dentry cache are otherwise never checked for search permission.
  // The metadata layer checks every operation either way.
  bool default_permissions = true;
  bool debug = false;             // libfuse request tracing on stderr
  bool handle_signals = true;     // SIGINT/SIGTERM/SIGHUP end Run() (then a clean unmount)
  std::string fsname = "strata";  // shown in /proc/mounts
  std::vector<std::string> extra; // other -o options, passed to libfuse as they are
  // Where each FUSE operation is counted (strata_fuse_ops_total{op}, _errors_total{op},
  // strata_fuse_op_seconds{op}); borrowed, must outlive the server. nullptr: not counted.
  MetricsRegistry* metrics = nullptr;
  Status Validate() const;
};

// The checks Mount() makes before mounting, for callers that want to fail before opening a
// volume: /dev/fuse usable, mount point an existing directory and not already mounted.
Status CheckMountPoint(const std::string& mount_point);

class FuseServer {
 public:
  // REQUIRES: volume outlives the server.
  static Result<std::unique_ptr<FuseServer>> Mount(vfs::Volume* volume,
                                                   const std::string& mount_point,
                                                   const FuseOptions& options);
  ~FuseServer();  // unmounts if still mounted
  FuseServer(const FuseServer&) = delete;
  FuseServer& operator=(const FuseServer&) = delete;

  // Serves until unmounted or Stop(). OK on a normal end.
  Status Run();
  void Stop();
  // Raises the mount's readahead to options().max_readahead once, after INIT (the open
  // handler calls it). Best effort: see FuseOptions::max_readahead.
  void SetReadaheadOnce();

  vfs::Volume& volume() { return *volume_; }
  const FuseOptions& options() const { return options_; }
  // Null when options().metrics is null.
  FuseOpMetrics* op_metrics() { return op_metrics_.get(); }

 private:
  FuseServer(vfs::Volume* volume, std::string mount_point, FuseOptions options);

  vfs::Volume* volume_;
  std::string mount_point_;
  FuseOptions options_;
  struct fuse_session* session_ = nullptr;
  bool mounted_ = false;
  std::once_flag readahead_once_;
  bool signals_installed_ = false;
  std::unique_ptr<FuseOpMetrics> op_metrics_;
};

}  // namespace strata::fuse
