// FuseServer: session creation, mount checks with clear errors, the multi-threaded loop.
#include "fuse/fuse_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fuse/op_metrics.h"
#include "fuse/ops.h"

namespace strata::fuse {

Status FuseOptions::Validate() const {
  if (attr_timeout < 0 || entry_timeout < 0 || negative_timeout < 0) {
    return Status::InvalidArgument("timeouts must not be negative");
  }
  if (max_threads < 1) return Status::InvalidArgument("max_threads must be at least 1");
  if (max_write < 4096 || max_write > (1u << 20)) {
    return Status::InvalidArgument("max_write must be between 4 KiB and 1 MiB");
  }
  if (max_readahead > (64u << 20)) return Status::InvalidArgument("max_readahead must be <= 64 MiB");
  return Status::OK();
}

namespace {

// Unescapes the octal escapes of /proc/self/mountinfo (\040 for a space, ...).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The "major:minor" of the mount at `path` (field 3 of /proc/self/mountinfo), or "".
std::string MountDevice(const std::string& path) {
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) return "";
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    // id parent major:minor root mount_point ...
    std::vector<std::string> f;
    size_t pos = 0;
    for (int field = 0; field < 5 && pos != std::string::npos; ++field) {
      size_t end = line.find(' ', pos);
      f.push_back(line.substr(pos, end == std::string::npos ? end : end - pos));
      pos = end == std::string::npos ? end : end + 1;
    }
    if (f.size() == 5 && Unescape(f[4]) == real) found = f[2];  // the last mount there wins
  }
  return found;
}

// Sets the readahead of the FUSE mount at `mp` (best effort: sysfs is writable by root only;
// without it reads still work, in the kernel's 128 KiB requests). Reads no file of the mount
// itself (that would wait for INIT, which is answered only once the loop runs).
void WriteReadahead(const std::string& mp, uint32_t bytes) {
  std::string dev = MountDevice(mp);
  if (dev.empty()) return;
  std::ofstream out("/sys/class/bdi/" + dev + "/read_ahead_kb");
  if (out) out << (bytes >> 10) << "\n";
}

bool IsMountPoint(const std::string& path) {
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount_point ...
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) {
      pos = line.find(' ', pos);
      if (pos != std::string::npos) ++pos;
    }
    if (pos == std::string::npos) continue;
    size_t end = line.find(' ', pos);
    if (Unescape(line.substr(pos, end - pos)) == real) return true;
  }
  return false;
}

}  // namespace

Status CheckMountPoint(const std::string& mp) {
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    return Status(Code::kUnavailable,
                  "no usable /dev/fuse: load the fuse module (modprobe fuse) or, in a container, "
                  "pass --device /dev/fuse --cap-add SYS_ADMIN");
  }
  struct stat st;
  if (stat(mp.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOTCONN) {
      return Status(Code::kBusy, "mount point " + mp +
                                     " is a dead FUSE mount; run `strata umount " + mp + "`");
    }
    return FromErrno(err, "mount point " + mp);
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotDir, "mount point " + mp + " is not a directory");
  if (IsMountPoint(mp)) {
    return Status(Code::kBusy, "mount point " + mp + " is already mounted");
  }
  return Status::OK();
}

FuseServer::FuseServer(vfs::Volume* volume, std::string mount_point, FuseOptions options)
    : volume_(volume), mount_point_(std::move(mount_point)), options_(std::move(options)) {}

Result<std::unique_ptr<FuseServer>> FuseServer::Mount(vfs::Volume* volume,
                                                      const std::string& mount_point,
                                                      const FuseOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  RETURN_IF_ERROR(CheckMountPoint(mount_point));
  std::unique_ptr<FuseServer> server(new FuseServer(volume, mount_point, options));

  std::vector<std::string> args = {"strata"};
  std::string o = "fsname=" + options.fsname + ",subtype=strata";
  if (options.allow_other) o += ",allow_other";
  if (options.default_permissions) o += ",default_permissions";
  if (volume->read_only()) o += ",ro";
  for (const std::string& e : options.extra) o += "," + e;
  args.push_back("-o");
  args.push_back(o);
  if (options.debug) args.push_back("-d");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  struct fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  if (options.metrics != nullptr) {
    server->op_metrics_ = std::make_unique<FuseOpMetrics>(*options.metrics);
  }
  // Always the wrapped table: it counts (with a registry) and feeds .accesslog (when read).
  const struct fuse_lowlevel_ops& ops = CountedLowLevelOps();
  server->session_ = fuse_session_new(&fargs, &ops, sizeof(ops), server.get());
  fuse_opt_free_args(&fargs);
  if (server->session_ == nullptr) {
    return Status::InvalidArgument("FUSE rejected the mount options: " + o);
  }
  if (options.handle_signals) {
    if (fuse_set_signal_handlers(server->session_) != 0) {
      return Status::Internal("cannot install signal handlers");
    }
    server->signals_installed_ = true;
  }
  if (fuse_session_mount(server->session_, mount_point.c_str()) != 0) {
    return Status::IOError("cannot mount on " + mount_point +
                           " (is fusermount3 installed? see the messages above)");
  }
  server->mounted_ = true;
  return server;
}

FuseServer::~FuseServer() {
  if (session_ != nullptr) {
    if (signals_installed_) fuse_remove_signal_handlers(session_);
    if (mounted_) fuse_session_unmount(session_);
    fuse_session_destroy(session_);
  }
}

Status FuseServer::Run() {
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 1);
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(options_.max_threads));
  fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(options_.max_threads / 2 + 1));
  int rc = fuse_session_loop_mt(session_, cfg);
  fuse_loop_cfg_destroy(cfg);
  // Serve nothing more: the caller flushes open files, then the destructor unmounts.
  if (rc < 0) return FromErrno(-rc, "FUSE loop");
  return Status::OK();
}

void FuseServer::SetReadaheadOnce() {
  // After INIT (the kernel sets the bdi's readahead from its reply, which would undo ours),
  // hence at the first open rather than at mount.
  if (options_.max_readahead == 0) return;
  std::call_once(readahead_once_, [this] { WriteReadahead(mount_point_, options_.max_readahead); });
}

void FuseServer::Stop() {
  if (session_ != nullptr) fuse_session_exit(session_);
}

}  // namespace strata::fuse
