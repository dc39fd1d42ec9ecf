// FileStore multipart uploads, staged on disk (see file_store.h):
//   DIR/%multipart/UPLOAD_ID/key          the key the upload was created for
//   DIR/%multipart/UPLOAD_ID/part-NNNNN   one file per part, each written atomically
#include <algorithm>
#include <cstdio>
#include <random>

#include "common/logging.h"
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

// Streams a part file through `sink` in chunks and returns its content tag and size.
template <typename Sink>
Result<PartInfo> ScanPart(Env& env, const std::string& path, int number, Sink sink) {
  Result<std::unique_ptr<RandomAccessFile>> file = env.NewRandomAccessFile(path);
  if (!file.ok()) {
    if (file.status().Is(Code::kNotFound)) {
      return Status::InvalidArgument("multipart part " + std::to_string(number) +
                                     " was never uploaded");
    }
    return file.status().WithContext("read part");
  }
  ContentTag tag;
  PartInfo info;
  info.number = number;
  for (uint64_t off = 0;;) {
    ASSIGN_OR_RETURN(std::string buf, (*file)->Read(off, kCopyChunk));
    if (buf.empty()) break;
    off += buf.size();
    tag.Update(buf);
    info.size += buf.size();
    RETURN_IF_ERROR(sink(buf));
  }
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
  Result<std::string> owner = env_->ReadFile(dir + "/key");
  if (!owner.ok()) {
    if (owner.status().Is(Code::kNotFound)) return missing;
    return owner.status().WithContext("multipart upload " + upload_id);
  }
  if (*owner != key) return missing;
  return dir;
}

Result<std::string> FileStore::CreateMultipart(const std::string& key) {
  RETURN_IF_ERROR(KeyPath(key).status());
  std::string staging = root_ + "/" + kStagingDir;
  Status made = env_->CreateDir(staging);
  if (!made.ok() && !made.Is(Code::kAlreadyExists)) {
    return made.WithContext("create multipart staging directory");
  }
  std::random_device rd;
  std::string id;
  static constexpr char kHex[] = "0123456789abcdef";
  while (id.size() < kUploadIdLen) id += kHex[rd() & 15];
  std::string dir = staging + "/" + id;
  RETURN_IF_ERROR(env_->CreateDir(dir).WithContext("create upload"));
  // The key file is written atomically, so a half-created upload is simply "not found".
  AtomicWriteOptions options;
  options.temp_path = dir + "/" + TempName();
  Status s = env_->WriteFileAtomic(dir + "/key", key, options);
  if (!s.ok()) {
    // Reporting `s` matters more; a staging directory left behind is only logged (it holds
    // no key file, so it is no upload).
    Status removed = fu::RemoveTree(*env_, dir);
    if (!removed.ok()) LOG_WARN("cannot remove half-created upload: {}", removed.ToString());
    return s.WithContext("create upload");
  }
  return id;
}

Result<std::string> FileStore::UploadPart(const std::string& key, const std::string& upload_id,
                                          int part_number, std::string_view data) {
  RETURN_IF_ERROR(CheckPartNumber(part_number));
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  AtomicWriteOptions options;
  options.temp_path = dir + "/" + TempName();
  Status s = env_->WriteFileAtomic(dir + "/" + PartName(part_number), data, options);
  if (!s.ok()) {
    // The staging directory went away between the check and the write: aborted meanwhile.
    if (s.Is(Code::kNotFound)) return Status::NotFound("multipart upload aborted: " + upload_id);
    return s.WithContext("upload part of " + key);
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
  RETURN_IF_ERROR(WriteAtomically(key, path, /*sync=*/false, [&](WritableFile& file) -> Status {
    for (const PartInfo& p : parts) {
      ASSIGN_OR_RETURN(PartInfo got,
                       ScanPart(*env_, dir + "/" + PartName(p.number), p.number,
                                [&](const std::string& buf) { return file.Append(buf); }));
      if (got.etag != p.etag) {
        return Status::InvalidArgument("multipart part " + std::to_string(p.number) + " has etag " +
                                       got.etag + ", not " + p.etag);
      }
    }
    return Status::OK();
  }));
  return fu::RemoveTree(*env_, dir);
}

Status FileStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  return fu::RemoveTree(*env_, dir);
}

Result<std::vector<PartInfo>> FileStore::ListParts(const std::string& key,
                                                   const std::string& upload_id) {
  ASSIGN_OR_RETURN(std::string dir, UploadDir(key, upload_id));
  std::vector<int> numbers;
  Result<std::vector<DirEntry>> entries = env_->ListDir(dir);
  if (!entries.ok()) {
    if (entries.status().Is(Code::kNotFound)) {
      return Status::NotFound("no such multipart upload: " + upload_id);
    }
    return entries.status().WithContext("list parts of " + key);
  }
  for (const DirEntry& e : *entries) {
    int n = 0;
    char extra = 0;
    if (std::sscanf(e.name.c_str(), "part-%5d%c", &n, &extra) == 1) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  std::vector<PartInfo> out;
  for (int n : numbers) {
    ASSIGN_OR_RETURN(PartInfo info, ScanPart(*env_, dir + "/" + PartName(n), n,
                                             [](const std::string&) { return Status::OK(); }));
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace strata::object
