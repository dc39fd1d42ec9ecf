// strata umount MOUNTPOINT [--force]: unmounts a StrataFS mount. As root it calls umount2(2)
// (MNT_DETACH with --force); otherwise fusermount3 -u (-z with --force). A busy mount is
// refused with a hint unless --force. The mount process flushes and exits by itself.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "cli/commands.h"

namespace strata::cli {
namespace {

// The fs type of the mount at `path` ("" when it is not a mount point).
std::string MountType(const std::string& path) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, mp, type, rest;
  std::string found;
  while (in >> dev >> mp >> type && std::getline(in, rest)) {
    // /proc/mounts escapes spaces as \040.
    std::string unescaped;
    for (size_t i = 0; i < mp.size(); ++i) {
      if (mp[i] == '\\' && i + 3 < mp.size()) {
        unescaped.push_back(static_cast<char>(std::strtol(mp.substr(i + 1, 3).c_str(), nullptr, 8)));
        i += 3;
      } else {
        unescaped.push_back(mp[i]);
      }
    }
    if (unescaped == path) found = type;  // the last one wins (stacked mounts)
  }
  return found;
}

int Unmount(const std::string& given, bool force) {
  std::string path = given;
  char real[PATH_MAX];
  // A dead FUSE mount fails realpath with ENOTCONN: use the path as given then.
  if (realpath(given.c_str(), real) != nullptr) path = real;
  std::string type = MountType(path);
  if (type.empty()) {
    std::fprintf(stderr, "strata umount: %s is not mounted\n", path.c_str());
    return 1;
  }
  if (type != "fuse.strata" && !force) {
    std::fprintf(stderr, "strata umount: %s is a %s mount, not StrataFS (use --force)\n",
                 path.c_str(), type.c_str());
    return 1;
  }
  int rc;
  if (geteuid() == 0) {
    rc = umount2(path.c_str(), force ? MNT_DETACH : 0);
    if (rc != 0) {
      int err = errno;
      if (err == EBUSY) {
        std::fprintf(stderr,
                     "strata umount: %s is busy (files open or a process inside); close them "
                     "or use --force\n",
                     path.c_str());
      } else {
        std::fprintf(stderr, "strata umount: %s: %s\n", path.c_str(), std::strerror(err));
      }
      return 1;
    }
  } else {
    pid_t pid = fork();
    if (pid == 0) {
      if (force) {
        execlp("fusermount3", "fusermount3", "-u", "-z", path.c_str(), nullptr);
      } else {
        execlp("fusermount3", "fusermount3", "-u", path.c_str(), nullptr);
      }
      std::perror("strata umount: fusermount3");
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "strata umount: fusermount3 failed for %s\n", path.c_str());
      return 1;
    }
  }
  std::printf("strata: unmounted %s\n", path.c_str());
  return 0;
}

}  // namespace

void RegisterUmount(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("umount", "Unmount a mounted volume");
  cmd->add_option("MOUNTPOINT", *path, "Where the volume is mounted")->required();
  cmd->add_flag("-f,--force", *force, "Detach even when busy (lazy unmount)");
  cmd->callback([path, force] { SetExitCode(Unmount(*path, *force)); });
}

}  // namespace strata::cli
