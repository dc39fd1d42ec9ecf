// strata umount MOUNTPOINT [--force]: unmounts a StrataFS mount. As root it calls umount2(2)
// (MNT_DETACH with --force); otherwise fusermount3 -u (-z with --force). A busy mount is
// refused with a hint unless --force. The mount process flushes and exits by itself.
// A --writeback mount is first waited for until its staged blocks are uploaded (read from the
// virtual xattr strata.staging of the mount root, with a line on what is left every few
// seconds); --force does not wait and says what it leaves for the next mount.
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/units.h"

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

// The mount's writeback staging (strata.staging), or nullopt without writeback.
std::optional<nlohmann::json> ReadStaging(const std::string& path) {
  char buf[8192];
  ssize_t n = getxattr(path.c_str(), "strata.staging", buf, sizeof(buf));
  if (n <= 0) return std::nullopt;
  auto j = nlohmann::json::parse(std::string(buf, static_cast<size_t>(n)), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

std::string Left(const nlohmann::json& j) {
  return std::to_string(j.value("blocks", uint64_t{0})) + " staged blocks (" +
         FormatBytes(j.value("bytes", uint64_t{0})) + ")";
}

// Waits for a writeback mount's staged blocks to be uploaded (or, with force, says what is
// left behind). The mount keeps serving meanwhile.
void WaitForStaging(const std::string& path, bool force) {
  auto j = ReadStaging(path);
  if (!j || j->value("blocks", uint64_t{0}) == 0) return;
  const std::string dir = j->value("dir", "");
  if (force) {
    std::printf("strata umount: leaving %s in %s: the next mount with --writeback-dir %s (or "
                "`strata sync-staging META_URL %s`) uploads them\n",
                Left(*j).c_str(), dir.c_str(), dir.c_str(), dir.c_str());
    return;
  }
  std::printf("strata umount: waiting for %s to upload (Ctrl-C to stop waiting; --force "
              "leaves them for the next mount)\n",
              Left(*j).c_str());
  std::fflush(stdout);
  auto last = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    j = ReadStaging(path);
    if (!j) return;  // the mount went away: nothing more to ask
    if (j->value("blocks", uint64_t{0}) == 0) break;
    if (std::chrono::steady_clock::now() - last >= std::chrono::seconds(5)) {
      last = std::chrono::steady_clock::now();
      const std::string err = j->value("last_error", "");
      std::printf("strata umount: %s left%s%s\n", Left(*j).c_str(),
                  err.empty() ? "" : "; last upload error: ", err.c_str());
      std::fflush(stdout);
    }
  }
  std::printf("strata umount: every staged block is uploaded\n");
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
  if (type == "fuse.strata") WaitForStaging(path, force);
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
  cmd->add_flag("-f,--force", *force,
                "Detach even when busy (lazy unmount); do not wait for writeback uploads");
  cmd->callback([path, force] { SetExitCode(Unmount(*path, *force)); });
}

}  // namespace strata::cli
