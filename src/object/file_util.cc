#include "object/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace strata::object::file_util {

namespace {
constexpr size_t kMaxName = 255;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is not canonical
}
}  // namespace

Result<std::string> EncodeSegment(std::string_view segment) {
  std::string out;
  if (segment.empty()) {
    out = "%";
  } else if (segment == ".") {
    out = "%2E";
  } else if (segment == "..") {
    out = "%2E%2E";
  } else {
    out.reserve(segment.size());
    for (char c : segment) {
      if (c == '%') {
        out += "%25";
      } else if (c == '\0') {
        out += "%00";
      } else {
        out += c;
      }
    }
  }
  if (out.size() > kMaxName) {
    return Status(Code::kNameTooLong, "key segment longer than 255 bytes: " +
                                          std::string(segment.substr(0, 32)) + "...");
  }
  return out;
}

std::optional<std::string> DecodeName(std::string_view name) {
  if (name == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    int hi = HexValue(name[i + 1]);
    int lo = HexValue(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  // Only the canonical spelling counts, so no two files decode to the same key.
  Result<std::string> again = EncodeSegment(out);
  if (!again.ok() || *again != name) return std::nullopt;
  return out;
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status ReadAt(int fd, uint64_t off, uint64_t n, std::string* out, const std::string& what) {
  size_t start = out->size();
  out->resize(start + n);
  uint64_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out->data() + start + done, n - done, static_cast<off_t>(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      out->resize(start + done);
      return FromErrno(errno, "read " + what);
    }
    if (r == 0) break;
    done += static_cast<uint64_t>(r);
  }
  out->resize(start + done);
  return Status::OK();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, "open directory " + dir);
  Status s;
  if (::fsync(fd) != 0) s = FromErrno(errno, "fsync directory " + dir);
  ::close(fd);
  return s;
}

std::string Dirname(const std::string& path) {
  size_t pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec.value() != ENOENT) return FromErrno(ec.value(), "remove " + path);
  return Status::OK();
}

}  // namespace strata::object::file_util
