#include "cli/mount_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>

namespace strata::cli {

Result<std::string> MountFilePath(const std::string& mount_point, const std::string& name) {
  struct stat st;
  if (stat(mount_point.c_str(), &st) != 0) return FromErrno(errno, mount_point);
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(mount_point + " is not a directory");
  }
  std::string path = mount_point + "/" + name;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(mount_point + " is not a StrataFS mount point (no " + name +
                                   ")");
  }
  return path;
}

Result<std::string> ReadMountFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return FromErrno(err, path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

std::string ShortNumber(double v, bool bytes) {
  if (!(v > 0)) return "0";
  const double step = bytes ? 1024 : 1000;
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T", "P"};
  int u = 0;
  while (v >= 999.5 && u < 5) {
    v /= step;
    ++u;
  }
  char buf[16];
  if (v < 9.95 && (u > 0 || v != std::floor(v))) {
    std::snprintf(buf, sizeof(buf), "%.1f%s", v, kUnits[u]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f%s", v, kUnits[u]);
  }
  return buf;
}

}  // namespace strata::cli
