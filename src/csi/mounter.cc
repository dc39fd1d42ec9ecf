#include "csi/mounter.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/logging.h"
#include "csi/mount_table.h"

namespace strata::csi {
namespace {

Status SysError(const std::string& what, const std::string& path, int err) {
  return Status(err == ENOENT ? Code::kNotFound : Code::kIOError,
                what + " " + path + ": " + std::strerror(err));
}

// mkdir -p, mode for the last part.
Status MakeDirs(const std::string& path, mode_t mode) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (mkdir(cur.c_str(), cur.size() == path.size() ? mode : 0755) != 0 && errno != EEXIST) {
      return SysError("mkdir", cur, errno);
    }
  }
  return Status::OK();
}

// Stable across builds and restarts (the key names a directory that outlives the process).
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::string> SplitFlags(const std::vector<std::string>& flags) {
  std::vector<std::string> out;
  for (const std::string& f : flags) {
    std::stringstream ss(f);
    std::string o;
    while (std::getline(ss, o, ',')) {
      if (!o.empty()) out.push_back(o);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string TrimSlash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Unmounts path; a busy one is detached (it goes away when its last user does).
Status Unmount(const std::string& path) {
  if (umount2(path.c_str(), 0) == 0) return Status::OK();
  if (errno == EBUSY && umount2(path.c_str(), MNT_DETACH) == 0) return Status::OK();
  if (errno == EINVAL || errno == ENOENT) return Status::OK();  // not mounted (any more)
  return SysError("umount", path, errno);
}

}  // namespace

Mounter::Mounter(std::string state_dir, std::string strata_bin)
    : state_dir_(std::move(state_dir)),
      mounts_dir_(state_dir_ + "/mounts"),
      strata_bin_(std::move(strata_bin)) {}

std::string Mounter::SharedPath(const VolumeSecrets& secrets,
                                const std::vector<std::string>& flags) const {
  std::string key = secrets.meta_url;
  for (const std::string& f : SplitFlags(flags)) key += "\n" + f;
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(Fnv1a(key)));
  return mounts_dir_ + "/" + hex;
}

void Mounter::ReapOrphans() {
  // When the driver is PID 1 of its container, the shared mounts' daemons (orphaned by their
  // mount.strata parent) become our children: reap the ones that ended. Our own mount.strata
  // children are waited for by pid before this runs, under the same mutex.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

Status Mounter::StartMount(const PublishRequest& req, const std::string& shared) {
  // The URL (it may hold a password) goes through the environment, which only the mount's
  // owner can read, not through argv, which `ps` shows to every user.
  std::vector<std::string> args = {"mount.strata", "env:STRATA_META_URL", shared, "-o",
                                   "log=" + shared + ".log"};
  const std::vector<std::string> flags = SplitFlags(req.mount_flags);
  if (!flags.empty()) {
    std::string joined;
    for (const std::string& f : flags) joined += (joined.empty() ? "" : ",") + f;
    args.push_back("-o");
    args.push_back(joined);
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; e++) {
    if (std::strncmp(*e, "STRATA_META_URL=", 16) != 0) env.emplace_back(*e);
  }
  for (const auto& [k, v] : req.secrets.env) env.push_back(k + "=" + v);
  env.push_back("STRATA_META_URL=" + req.secrets.meta_url);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe", "", errno);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return SysError("fork", "", errno);
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, 0);
    execve(strata_bin_.c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "cannot run %s: %s\n", strata_bin_.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[1024];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::OK();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return Status::Unavailable("mounting " + req.secrets.masked_url +
                             " failed: " + Scrub(out.empty() ? "no output" : out, req.secrets));
}

Status Mounter::EnsureShared(const PublishRequest& req, const std::string& shared, bool* started,
                             bool* mount_failed) {
  *started = false;
  ASSIGN_OR_RETURN(auto table, ReadMountTable());
  if (FindMount(table, shared) != nullptr) {
    struct stat st;
    if (stat(shared.c_str(), &st) == 0) return Status::OK();
    // Its process is gone (ENOTCONN): detach the dead mount and start a new one. Binds of it
    // stay dead until their pods are restarted; new pods get the new mount.
    LOG_WARN("csi: shared mount {} is dead ({}); starting it again", shared, std::strerror(errno));
    if (umount2(shared.c_str(), MNT_DETACH) != 0) return SysError("umount", shared, errno);
  }
  RETURN_IF_ERROR(MakeDirs(shared, 0755));
  Status s = StartMount(req, shared);
  if (!s.ok()) {
    *mount_failed = true;
    rmdir(shared.c_str());  // deliberately unchecked: an empty directory left is harmless
    return s;
  }
  *started = true;
  LOG_INFO("csi: mounted {} at {}", req.secrets.masked_url, shared);
  return Status::OK();
}

Status Mounter::Publish(const PublishRequest& req, bool* mount_failed) {
  std::lock_guard<std::mutex> lock(mu_);
  *mount_failed = false;
  const std::string target = TrimSlash(req.target);
  if (target.empty() || target[0] != '/') {
    return Status::InvalidArgument("target path must be absolute: '" + req.target + "'");
  }
  const std::string shared = SharedPath(req.secrets, req.mount_flags);
  const std::string want_root = "/" + req.subdir;

  ASSIGN_OR_RETURN(auto table, ReadMountTable());
  if (const MountEntry* t = FindMount(table, target)) {
    const MountEntry* s = FindMount(table, shared);
    if (s != nullptr && t->dev == s->dev && t->root == want_root &&
        t->read_only() == (req.read_only || s->read_only())) {
      return Status::OK();  // published already, the same way
    }
    return Status::AlreadyExists("target " + target +
                                 " already holds a different mount (another volume, directory "
                                 "or read-only mode)");
  }

  bool started = false;
  RETURN_IF_ERROR(EnsureShared(req, shared, &started, mount_failed));
  ReapOrphans();
  auto undo_shared = [&] {
    if (!started) return;
    Status u = Unmount(shared);
    if (!u.ok()) LOG_WARN("csi: undoing the mount of {}: {}", shared, u.ToString());
    rmdir(shared.c_str());  // deliberately unchecked
  };

  std::string source = shared;
  if (!req.subdir.empty()) {
    source += "/" + req.subdir;
    struct stat st;
    if (stat(source.c_str(), &st) != 0) {
      Status s = errno == ENOENT && !req.read_only
                     ? MakeDirs(source, 0777)
                     : SysError("subdirectory", req.subdir + " of the volume", errno);
      if (!s.ok()) {
        undo_shared();
        return s;
      }
    } else if (!S_ISDIR(st.st_mode)) {
      undo_shared();
      return Status(Code::kNotDir, "subdirectory " + req.subdir + " is not a directory");
    }
  }
  bool made_target = false;
  struct stat st;
  if (stat(target.c_str(), &st) != 0) {
    Status s = errno == ENOENT ? MakeDirs(target, 0750) : SysError("stat", target, errno);
    if (!s.ok()) {
      undo_shared();
      return s;
    }
    made_target = true;
  } else if (!S_ISDIR(st.st_mode)) {
    undo_shared();
    return Status::InvalidArgument("target " + target + " is not a directory");
  }
  auto fail = [&](const Status& s) {
    if (made_target) rmdir(target.c_str());  // deliberately unchecked
    undo_shared();
    return s;
  };
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return fail(SysError("bind mount onto", target, errno));
  }
  if (req.read_only &&
      mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
    const int err = errno;
    umount2(target.c_str(), MNT_DETACH);  // deliberately unchecked: we just made it
    return fail(SysError("read-only remount of", target, err));
  }
  LOG_INFO("csi: published {}{} at {}{}", shared, req.subdir.empty() ? "" : "/" + req.subdir,
           target, req.read_only ? " (read-only)" : "");
  return Status::OK();
}

Status Mounter::Unpublish(const std::string& raw_target) {
  std::lock_guard<std::mutex> lock(mu_);
  ReapOrphans();
  const std::string target = TrimSlash(raw_target);
  if (target.empty() || target[0] != '/') {
    return Status::InvalidArgument("target path must be absolute: '" + raw_target + "'");
  }
  ASSIGN_OR_RETURN(auto table, ReadMountTable());
  const MountEntry* t = FindMount(table, target);
  if (t != nullptr) {
    const std::string dev = t->dev;
    RETURN_IF_ERROR(Unmount(target));
    LOG_INFO("csi: unpublished {}", target);
    RETURN_IF_ERROR(ReleaseSharedIfUnused(dev));
  }
  if (rmdir(target.c_str()) != 0 && errno != ENOENT) {
    // A target kubelet filled itself (or one still mounted below) is left for kubelet.
    LOG_WARN("csi: leaving target {}: {}", target, std::strerror(errno));
  }
  return Status::OK();
}

Status Mounter::ReleaseSharedIfUnused(const std::string& dev) {
  ASSIGN_OR_RETURN(auto table, ReadMountTable());
  const MountEntry* shared = nullptr;
  int users = 0;
  for (const MountEntry& e : table) {
    if (e.dev != dev) continue;
    if (e.mount_point.rfind(mounts_dir_ + "/", 0) == 0 && e.root == "/") {
      shared = &e;
    } else {
      users++;
    }
  }
  if (shared == nullptr || users > 0) return Status::OK();
  const std::string path = shared->mount_point;
  RETURN_IF_ERROR(Unmount(path));
  rmdir(path.c_str());  // deliberately unchecked: an empty directory left is harmless
  LOG_INFO("csi: unmounted the shared mount {} (no pod uses it)", path);
  return Status::OK();
}

}  // namespace strata::csi
