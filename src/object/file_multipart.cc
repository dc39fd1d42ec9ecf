// FileStore multipart uploads, staged on disk (see file_store.h):
//   DIR/%multipart/UPLOAD_ID/key          the key the upload was created for
//   DIR/%multipart/UPLOAD_ID/part-NNNNN   one file per part, each written atomically
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>

#include "object/etag.h"
#include "object/file_store.h"
#include "object/file_util.h"

namespace strata::object {

namespace fu = file_util;

namespace {
constexpr char kStagingDir[] = "%multipart";
constexpr size_t kUploadIdLen = 32;
constexpr uint64_t kCopyChunk = 4 << 20;

std::string PartName(int number) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "part-%05d", number);
  return buf;
}

Status CheckPartNumber(int n) {
  if (n < 1 || n > 10000) {
    return Status::InvalidArgument("part number must be 1..10000, got " + std::to_string(n));
  }
  return Status::OK();
}

Result<std::string> ReadWhole(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FromErrno(errno, what);
  struct stat st;
  std::string out;
  Status s = ::fstat(fd, &st) == 0
                 ? fu::ReadAt(fd, 0, static_cast<uint64_t>(st.st_size), &out, what)
                 : FromErrno(errno, what);
  ::close(fd);
  if (!s.ok()) return s;
  return out;
}

// Streams a part file through `sink` in chunks and returns its content tag and size.
template <typename Sink>
Result<PartInfo> ScanPart(const std::string& path, int number, Sink sink) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::InvalidArgument("multipart part " + std::to_string(number) +
                                     " was never uploaded");
    }
    return FromErrno(errno, "read part " + path);
  }
  ContentTag tag;
  PartInfo info;
  info.number = number;
  Status s;
  std::string buf;
  for (uint64_t off = 0;; off += buf.size()) {
    buf.clear();
    s = fu::ReadAt(fd, off, kCopyChunk, &buf, path);
    if (!s.ok() || buf.empty()) break;
    tag.Update(buf);
    info.size += buf.size();
    s = sink(buf);
    if (!s.ok()) break;
  }
  ::close(fd);
  if (!s.ok()) return s;
  info.etag = tag.Hex();
  return info;
}
}  // namespace

Result<std::string> FileStore::UploadDir(const std::string& key,
                                         const std::string& upload_id) const {
  bool well_formed = upload_id.size() == kUploadIdLen &&
                     std::all_of(upload_id.begin(), upload_id.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
  Status missing = Status::NotFound("no such multipart upload: " + upload_id + " for key " + key);
  if (!well_formed) return missing;
  std::string dir = root_ + "/" + kStagingDir + "/" + upload_id;
  Result<std::string> owner = ReadWhole(dir + "/key", "multipart upload " + upload_id);
  if (!owner.ok()) return owner.code() == Code::kNotFound ? missing : owner.status();
  if (*owner != key) return missing;
  return dir;
}

Result<std::string> FileStore::CreateMultipart(const std::string& key) {
  RETURN_IF_ERROR(KeyPath(key).status());
  std::string staging = root_ + "/" + kStagingDir;
  if (::mkdir(staging.c_str(), 0755) != 0 && errno != EEXIST) {
    return FromErrno(errno, "create multipart staging directory " + staging);
  }
  std::random_device rd;
  std::string id;
  static constexpr char kHex[] = "0123456789abcdef";
  while (id.size() < kUploadIdLen) id += kHex[rd() & 15];
  std::string dir = staging + "/" + id;
  if (::mkdir(dir.c_str(), 0755) != 0) return FromErrno(errno, "create upload " + dir);
  // The key file is written atomically, so a half-created upload is simply "not found".
  std::string tmp = dir + "/%key";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return FromErrno(errno, "create upload " + dir);
  Status s = fu::WriteAll(fd, key, tmp);
  if (::close(fd) != 0 && s.ok()) s = FromErrno(errno, "close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), (dir + "/key").c_str()) != 0) {
    s = FromErrno(errno, "create upload " + dir);
  }
  if (!s.ok()) {
    (void)fu::RemoveTree(dir);  // deliberate drop: reporting `s` matters more
    return s;
  }
  return id;
}

Result<std::string> FileStore::UploadPart(const std::string& key, const std::string& upload_id,
                                          int part_number, std::string_view data) {
  RETURN_IF_ERROR(CheckPartNumber(part_number));
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  std::string tmp = dir + "/" + TempName();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("multipart upload aborted: " + upload_id);
    return FromErrno(errno, "upload part of " + key);
  }
  Status s = fu::WriteAll(fd, data, key);
  if (::close(fd) != 0 && s.ok()) s = FromErrno(errno, "upload part of " + key);
  if (s.ok() && ::rename(tmp.c_str(), (dir + "/" + PartName(part_number)).c_str()) != 0) {
    s = FromErrno(errno, "upload part of " + key);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return ContentTag::Of(data);
}

Status FileStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                    const std::vector<PartInfo>& parts) {
  if (parts.empty()) return Status::InvalidArgument("multipart complete with no parts");
  int prev = 0;
  for (const PartInfo& p : parts) {
    RETURN_IF_ERROR(CheckPartNumber(p.number));
    if (p.number <= prev) {
      return Status::InvalidArgument("multipart parts must be in ascending order");
    }
    prev = p.number;
  }
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  ASSIGN_OR_RETURN(std::string path, KeyPath(key));
  RETURN_IF_ERROR(WriteAtomically(key, path, /*sync=*/false, [&](int fd) -> Status {
    for (const PartInfo& p : parts) {
      ASSIGN_OR_RETURN(PartInfo got, ScanPart(dir + "/" + PartName(p.number), p.number,
                                              [&](const std::string& buf) {
                                                return fu::WriteAll(fd, buf, key);
                                              }));
      if (got.etag != p.etag) {
        return Status::InvalidArgument("multipart part " + std::to_string(p.number) + " has etag " +
                                       got.etag + ", not " + p.etag);
      }
    }
    return Status::OK();
  }));
  return fu::RemoveTree(dir);
}

Status FileStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  return fu::RemoveTree(dir);
}

Result<std::vector<PartInfo>> FileStore::ListParts(const std::string& key,
                                                   const std::string& upload_id) {
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  std::vector<int> numbers;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::NotFound("no such multipart upload: " + upload_id);
    return FromErrno(errno, "list parts of " + key);
  }
  while (dirent* e = ::readdir(d)) {
    int n = 0;
    char extra = 0;
    if (std::sscanf(e->d_name, "part-%5d%c", &n, &extra) == 1) numbers.push_back(n);
  }
  ::closedir(d);
  std::sort(numbers.begin(), numbers.end());
  std::vector<PartInfo> out;
  for (int n : numbers) {
    ASSIGN_OR_RETURN(PartInfo info, ScanPart(dir + "/" + PartName(n), n,
                                             [](const std::string&) { return Status::OK(); }));
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace strata::object
