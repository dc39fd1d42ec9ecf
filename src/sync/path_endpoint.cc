#include "sync/path_endpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/env.h"

namespace strata::sync {

namespace {

Status Errno(const std::string& what, const std::string& path) {
  const int e = errno;
  std::string m = what + " " + path + ": " + std::strerror(e);
  switch (e) {
    case ENOENT:
      return Status::NotFound(m);
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(m);
    case ENOTSUP:
      return Status::NotSupported(m);
    default:
      return Status::IOError(m);
  }
}

std::string Strip(const std::string& p) {
  return !p.empty() && p.back() == '/' ? p.substr(0, p.size() - 1) : p;
}

Item FromStat(const std::string& path, const struct stat& st) {
  Item it;
  it.path = path;
  if (S_ISDIR(st.st_mode)) {
    it.kind = Kind::kDir;
  } else if (S_ISREG(st.st_mode)) {
    it.kind = Kind::kFile;
    it.size = st.st_size;
  } else if (S_ISLNK(st.st_mode)) {
    it.kind = Kind::kSymlink;
    it.size = st.st_size;
  } else {
    it.kind = Kind::kOther;
  }
  it.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  it.atime_ns = st.st_atim.tv_sec * 1000000000LL + st.st_atim.tv_nsec;
  it.mode = st.st_mode & 07777;
  it.uid = st.st_uid;
  it.gid = st.st_gid;
  it.nlink = st.st_nlink;
  it.ino = st.st_ino;
  return it;
}

class PathReader : public FileReader {
 public:
  PathReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PathReader() override { ::close(fd_); }
  Result<std::string> Read(uint64_t off, size_t len) override {
    std::string out(len, '\0');
    size_t got = 0;
    while (got < len) {
      ssize_t n = ::pread(fd_, out.data() + got, len - got, static_cast<off_t>(off + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("reading", path_);
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
    return out;
  }

 private:
  const int fd_;
  const std::string path_;
};

// Writes "dir/.NAME.strata-sync" and renames it over NAME at Commit.
class PathWriter : public FileWriter {
 public:
  PathWriter(int fd, std::string tmp, std::string final_path)
      : fd_(fd), tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~PathWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!done_) ::unlink(tmp_.c_str());  // nothing half-written stays behind
  }
  Status Append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), std::min(data.size(), kMaxWriteSyscall));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("writing", tmp_);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::OK();
  }
  Status Commit() override {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno("closing", tmp_);
    if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
      // A directory in the way (the source has a file there now): remove it when empty.
      return Errno("renaming into", final_);
    }
    done_ = true;
    return Status::OK();
  }

 private:
  int fd_;
  const std::string tmp_, final_;
  bool done_ = false;
};

}  // namespace

bool PathEndpoint::IsTemporary(std::string_view name) {
  return name.size() > 13 && name[0] == '.' && name.substr(name.size() - 12) == ".strata-sync";
}

std::string PathEndpoint::Full(const std::string& rel) const {
  return rel.empty() ? root_ : root_ + "/" + Strip(rel);
}

Status PathEndpoint::Walk(const std::string& rel, const std::function<Status(const Item&)>& fn) {
  const std::string dir = Full(rel);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Errno("listing", dir);
  // (sort key, item): directories sort as "name/" so the walk yields path byte order.
  std::vector<Item> items;
  Status st;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || IsTemporary(name)) continue;
    struct stat s;
    std::string full = dir + "/" + name;
    if (::lstat(full.c_str(), &s) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      st = Errno("stat", full);
      break;
    }
    Item it = FromStat(rel + name, s);
    if (it.kind == Kind::kDir) it.path += "/";
    items.push_back(std::move(it));
  }
  ::closedir(d);
  RETURN_IF_ERROR(st);
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.path < b.path; });
  for (const auto& it : items) {
    RETURN_IF_ERROR(fn(it));
    if (it.kind == Kind::kDir) RETURN_IF_ERROR(Walk(it.path, fn));
  }
  return Status::OK();
}

Status PathEndpoint::List(const std::function<Status(const Item&)>& fn) {
  struct stat s;
  if (::stat(root_.c_str(), &s) != 0) {
    if (errno == ENOENT && !must_exist_) return Status::OK();  // a new destination
    return Errno("opening", root_);
  }
  if (!S_ISDIR(s.st_mode)) return Status(Code::kNotDir, root_ + " is not a directory");
  return Walk("", fn);
}

Result<std::unique_ptr<FileReader>> PathEndpoint::OpenRead(const Item& item) {
  const std::string p = Full(item.path);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Errno("opening", p);
  return std::unique_ptr<FileReader>(new PathReader(fd, p));
}

Status PathEndpoint::MakeParents(const std::string& rel) {
  std::string p = Strip(rel);
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return MkdirP(root_);
  return MkdirP(Full(p.substr(0, slash)));
}

Status PathEndpoint::MkdirP(const std::string& full) {
  struct stat s;
  if (::stat(full.c_str(), &s) == 0) {
    return S_ISDIR(s.st_mode) ? Status::OK() : Status(Code::kNotDir, full + " is not a directory");
  }
  size_t slash = full.rfind('/');
  if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MkdirP(full.substr(0, slash)));
  if (::mkdir(full.c_str(), 0755) != 0 && errno != EEXIST) return Errno("creating", full);
  return Status::OK();
}

Result<std::unique_ptr<FileWriter>> PathEndpoint::OpenWrite(const std::string& path,
                                                            const Item& src) {
  RETURN_IF_ERROR(MakeParents(path));
  const std::string final_path = Full(path);
  size_t slash = final_path.rfind('/');
  std::string tmp =
      final_path.substr(0, slash + 1) + "." + final_path.substr(slash + 1) + ".strata-sync";
  if (tmp.size() - slash - 1 > 255) {
    tmp = final_path.substr(0, slash + 1) + ".x" + std::to_string(std::hash<std::string>()(path)) +
          ".strata-sync";
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating", tmp);
  return std::unique_ptr<FileWriter>(new PathWriter(fd, tmp, final_path));
}

Status PathEndpoint::Delete(const std::string& path) {
  const std::string p = Full(path);
  int r = !path.empty() && path.back() == '/' ? ::rmdir(p.c_str()) : ::unlink(p.c_str());
  if (r != 0 && errno != ENOENT) return Errno("removing", p);
  return Status::OK();
}

Status PathEndpoint::MakeDir(const std::string& path) {
  RETURN_IF_ERROR(MakeParents(path));
  const std::string p = Full(path);
  struct stat s;
  if (::lstat(p.c_str(), &s) == 0) {
    if (S_ISDIR(s.st_mode)) return Status::OK();
    if (::unlink(p.c_str()) != 0) return Errno("replacing", p);
  }
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST) return Errno("creating", p);
  return Status::OK();
}

Result<std::string> PathEndpoint::ReadLink(const std::string& path) {
  const std::string p = Full(path);
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size());
  if (n < 0) return Errno("reading link", p);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Status PathEndpoint::MakeSymlink(const std::string& path, const std::string& target) {
  RETURN_IF_ERROR(MakeParents(path));
  const std::string p = Full(path);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Errno("replacing", p);
  if (::symlink(target.c_str(), p.c_str()) != 0) return Errno("creating symlink", p);
  return Status::OK();
}

Status PathEndpoint::MakeLink(const std::string& existing, const std::string& path) {
  RETURN_IF_ERROR(MakeParents(path));
  const std::string p = Full(path), e = Full(existing);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Errno("replacing", p);
  if (::link(e.c_str(), p.c_str()) != 0) return Errno("linking", p);
  return Status::OK();
}

Result<Item> PathEndpoint::Stat(const std::string& path) {
  const std::string p = Full(path);
  struct stat s;
  if (::lstat(p.c_str(), &s) != 0) return Errno("stat", p);
  return FromStat(path, s);
}

Result<std::map<std::string, std::string>> PathEndpoint::GetXattrs(const std::string& path) {
  const std::string p = Full(path);
  std::map<std::string, std::string> out;
  std::string names(65536, '\0');
  ssize_t n = ::llistxattr(p.c_str(), names.data(), names.size());
  if (n < 0) {
    if (errno == ENOTSUP) return out;
    return Errno("listing xattrs of", p);
  }
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.rfind("user.", 0) != 0 && name.rfind("trusted.", 0) != 0) continue;
    std::string value(65536, '\0');
    ssize_t v = ::lgetxattr(p.c_str(), name.c_str(), value.data(), value.size());
    if (v < 0) {
      if (errno == ENODATA) continue;
      return Errno("reading xattr " + name + " of", p);
    }
    value.resize(static_cast<size_t>(v));
    out.emplace(std::move(name), std::move(value));
  }
  return out;
}

Status PathEndpoint::SetAttributes(const std::string& path, const Item& a,
                                   const std::map<std::string, std::string>& xattrs) {
  const std::string p = Full(path);
  ASSIGN_OR_RETURN(auto have, GetXattrs(path));
  for (const auto& [name, value] : have) {
    if (xattrs.count(name) == 0 && ::lremovexattr(p.c_str(), name.c_str()) != 0) {
      return Errno("removing xattr " + name + " of", p);
    }
  }
  for (const auto& [name, value] : xattrs) {
    auto it = have.find(name);
    if (it != have.end() && it->second == value) continue;
    if (::lsetxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      return Errno("setting xattr " + name + " of", p);
    }
  }
  if (::lchown(p.c_str(), a.uid, a.gid) != 0 && errno != EPERM) return Errno("chown", p);
  if (a.kind != Kind::kSymlink && ::chmod(p.c_str(), a.mode) != 0) return Errno("chmod", p);
  struct timespec ts[2];
  ts[0] = {static_cast<time_t>(a.atime_ns / 1000000000),
           static_cast<long>(a.atime_ns % 1000000000)};
  ts[1] = {static_cast<time_t>(a.mtime_ns / 1000000000),
           static_cast<long>(a.mtime_ns % 1000000000)};
  if (::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return Errno("utimensat", p);
  return Status::OK();
}

}  // namespace strata::sync
