// Multipart uploads. Each upload is a directory .s3-uploads/{upload-id} (32 hex digits) whose
// xattrs name its bucket and key (user.s3.upload.bucket, user.s3.upload.key) and hold the
// object's metadata; each part is a file {number:05} in it, written like a PUT (to a
// ".part-{random}" name, then renamed over the part) with its MD5 as ETag. Complete lays the
// parts end to end into a new file by copy_file_range (metadata only: the parts' stored
// slices are shared, nothing is read or written), gives it the ETag
// MD5(part MD5s)-N and renames it over the key, then removes the upload directory. None of it
// is under a bucket, so no listing shows it and no key can name it.
#include <algorithm>
#include <cstdio>

#include "common/logging.h"
#include "gateway/access.h"
#include "gateway/digest.h"
#include "gateway/ops.h"
#include "gateway/xml.h"

namespace strata::gateway {
namespace {

constexpr char kBucketXattr[] = "user.s3.upload.bucket";
constexpr char kKeyXattr[] = "user.s3.upload.key";
constexpr uint64_t kMinPartSize = 5 << 20;
constexpr int kMaxParts = 10000;

std::string PartName(int n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%05d", n);
  return buf;
}

bool IsUploadId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

int ParsePartNumber(const std::string& s) {
  if (s.empty() || s.size() > 5) return -1;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= kMaxParts ? n : -1;
}

std::string Unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The upload directory of r's uploadId, checked to belong to r's bucket and key.
std::variant<Ino, S3Error> ResolveUpload(S3Request& r) {
  const std::string id = r.http->Query("uploadId");
  if (!IsUploadId(id) || r.fs->uploads_dir() == 0) return NoSuchUpload(id);
  auto e = r.fs->volume().Lookup(r.fs->ctx(), r.fs->uploads_dir(), id);
  if (!e.ok()) return e.status().Is(Code::kNotFound) ? NoSuchUpload(id) : FromStatus(e.status());
  auto bucket = r.fs->volume().GetXattr(r.fs->ctx(), e->ino, kBucketXattr);
  auto key = r.fs->volume().GetXattr(r.fs->ctx(), e->ino, kKeyXattr);
  if (!bucket.ok() || !key.ok() || *bucket != r.bucket || *key != r.key) return NoSuchUpload(id);
  return e->ino;
}

// Removes an upload directory and its parts (errors logged: an abandoned part only costs
// space until the next abort).
void RemoveUpload(S3Request& r, Ino dir, const std::string& id) {
  auto items = r.fs->ReadWholeDir(dir);
  if (items.ok()) {
    for (const auto& it : *items) {
      Status s = r.fs->volume().Unlink(r.fs->ctx(), dir, it.name);
      if (!s.ok()) LOG_WARN("gateway: removing part {} of upload {}: {}", it.name, id, s.ToString());
    }
  }
  Status s = r.fs->volume().Rmdir(r.fs->ctx(), r.fs->uploads_dir(), id);
  if (!s.ok()) LOG_WARN("gateway: removing upload {}: {}", id, s.ToString());
}

// Copies [off, off+len) of src into the open temp file at dst_off (metadata only).
Status CopyRange(ObjectFs& fs, Ino src, uint64_t off, uint64_t len, TempFile& t,
                 uint64_t dst_off) {
  ASSIGN_OR_RETURN(uint64_t fh, fs.OpenRead(src));
  Status s;
  uint64_t done = 0;
  while (s.ok() && done < len) {
    auto n = fs.volume().CopyFileRange(fs.ctx(), src, fh, off + done, t.ino, t.fh,
                                       dst_off + done, len - done);
    if (!n.ok()) s = n.status();
    else if (*n == 0) s = Status::IOError("source shrank while it was copied");
    else done += *n;
  }
  fs.Release(src, fh);
  return s;
}

}  // namespace

OpResult CreateMultipartUpload(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  if (std::get<KeyPath>(parsed).folder) return InvalidArgument("a folder key cannot be uploaded");
  if (r.fs->uploads_dir() == 0) return FromStatus(Status(Code::kReadOnly, "read-only"));
  const std::string id = RandomId();
  vfs::Volume& v = r.fs->volume();
  auto dir = v.Mkdir(r.fs->ctx(), r.fs->uploads_dir(), id, 0700);
  if (!dir.ok()) return FromStatus(dir.status());
  Status s = v.SetXattr(r.fs->ctx(), dir->ino, kBucketXattr, r.bucket, 0);
  if (s.ok()) s = v.SetXattr(r.fs->ctx(), dir->ino, kKeyXattr, r.key, 0);
  if (s.ok()) s = r.fs->WriteMeta(dir->ino, MetaFromRequest(*r.http));
  if (!s.ok()) {
    RemoveUpload(r, dir->ino, id);
    return FromStatus(s);
  }
  XmlWriter w("InitiateMultipartUploadResult");
  w.Leaf("Bucket", r.bucket);
  w.Leaf("Key", r.key);
  w.Leaf("UploadId", id);
  r.Xml(w.Finish());
  return std::nullopt;
}

OpResult UploadPart(S3Request& r) {
  const int number = ParsePartNumber(r.http->Query("partNumber"));
  if (number < 0) return InvalidArgument("Part number must be an integer between 1 and 10000");
  auto up = ResolveUpload(r);
  if (auto* e = std::get_if<S3Error>(&up)) return *e;
  const Ino dir = std::get<Ino>(up);
  auto temp = r.fs->CreateTemp(dir, ".part-" + RandomId());
  if (!temp.ok()) return FromStatus(temp.status());
  TempFile& t = *temp;
  std::string etag;
  OpResult err;
  const bool copy = r.http->HasHeader("x-amz-copy-source");
  if (copy) {
    auto src = ParseCopySource(r.http->Header("x-amz-copy-source"));
    if (auto* e = std::get_if<S3Error>(&src)) {
      err = *e;
    } else {
      const auto& [sb_name, sk] = std::get<std::pair<std::string, std::string>>(src);
      auto sb = r.fs->Bucket(sb_name);
      auto sk_parsed = ParseKey(sk);
      if (!MayAccessKey(*r.user, sb_name, sk, Access::kRead)) {
        err = AccessDenied();
      } else if (!sb.ok()) {
        err = NoSuchBucket(sb_name);
      } else if (auto* e2 = std::get_if<S3Error>(&sk_parsed)) {
        err = *e2;
      } else {
        auto obj = r.fs->LookupObject(*sb, std::get<KeyPath>(sk_parsed));
        if (!obj.ok()) {
          err = FromStatus(obj.status(), sk);
        } else {
          uint64_t first = 0, len = obj->attr.length;
          std::string range = r.http->Header("x-amz-copy-source-range");
          if (!range.empty()) {
            unsigned long long a = 0, z = 0;
            if (std::sscanf(range.c_str(), "bytes=%llu-%llu", &a, &z) != 2 || z < a ||
                z >= obj->attr.length) {
              err = S3Error{400, "InvalidArgument", "bad x-amz-copy-source-range"};
            }
            first = a;
            len = z - a + 1;
          }
          if (!err) {
            Status s = CopyRange(*r.fs, obj->ino, first, len, t, 0);
            if (s.ok()) s = r.fs->Close(t);
            auto md5 = s.ok() ? r.fs->Md5Of(obj->ino, first, len) : Result<std::string>(s);
            if (!md5.ok()) err = FromStatus(md5.status(), sk);
            else etag = Hex(*md5);
          }
        }
      }
    }
  } else {
    err = StreamBody(r, [&](std::string_view piece) { return r.fs->Append(t, piece); });
    if (!err) {
      Status closed = r.fs->Close(t);
      if (!closed.ok()) err = FromStatus(closed);
    }
    if (!err) {
      std::string md5 = t.md5.Final();
      err = CheckContentMd5(r, md5);
      etag = Hex(md5);
    }
  }
  if (!err) {
    Status s = r.fs->WriteEtag(t.ino, etag);
    if (s.ok()) s = r.fs->Commit(t, dir, PartName(number));
    if (!s.ok()) err = FromStatus(s);
  }
  if (err) {
    r.fs->Discard(t);
    return err;
  }
  if (copy) {
    XmlWriter w("CopyPartResult");
    w.Leaf("LastModified", IsoTime(r.NowSeconds()));
    w.Leaf("ETag", "\"" + etag + "\"");
    r.Xml(w.Finish());
  } else {
    r.res->Header("ETag", "\"" + etag + "\"");
  }
  return std::nullopt;
}

OpResult CompleteMultipartUpload(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto up = ResolveUpload(r);
  if (auto* e = std::get_if<S3Error>(&up)) return *e;
  const Ino dir = std::get<Ino>(up);
  auto body = ReadSmallBody(r, 4 << 20);
  if (auto* e = std::get_if<S3Error>(&body)) return *e;
  auto parts = ParseCompleteMultipart(std::get<std::string>(body));
  if (!parts.ok()) return MalformedXml(std::string(parts.status().message()));
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;

  struct Found {
    Ino ino;
    uint64_t length;
  };
  std::vector<Found> found;
  std::string md5s;
  int prev = 0;
  for (size_t i = 0; i < parts->size(); ++i) {
    const CompletePart& p = (*parts)[i];
    if (p.number <= prev) {
      return S3Error{400, "InvalidPartOrder", "The list of parts was not in ascending order."};
    }
    prev = p.number;
    auto e = r.fs->volume().Lookup(r.fs->ctx(), dir, PartName(p.number));
    if (!e.ok()) {
      return S3Error{400, "InvalidPart", "One or more of the specified parts could not be found."};
    }
    auto etag = r.fs->Etag(e->ino, e->attr);
    if (!etag.ok() || *etag != p.etag) {
      return S3Error{400, "InvalidPart", "The ETag of part " + std::to_string(p.number) +
                                             " does not match."};
    }
    if (i + 1 < parts->size() && e->attr.length < kMinPartSize) {
      return S3Error{400, "EntityTooSmall",
                     "Your proposed upload is smaller than the minimum allowed object size."};
    }
    found.push_back(Found{e->ino, e->attr.length});
    md5s += Unhex(*etag);
  }
  auto temp = r.fs->CreateTemp();
  if (!temp.ok()) return FromStatus(temp.status());
  TempFile& t = *temp;
  Status s;
  uint64_t off = 0;
  for (const Found& f : found) {
    if (!s.ok()) break;
    s = CopyRange(*r.fs, f.ino, 0, f.length, t, off);
    off += f.length;
  }
  if (s.ok()) s = r.fs->Close(t);
  auto meta = s.ok() ? r.fs->ReadMeta(dir) : Result<ObjectMeta>(s);
  if (!meta.ok()) {
    r.fs->Discard(t);
    return FromStatus(meta.status());
  }
  Digest d = Digest::Md5();
  d.Update(md5s);
  const std::string etag = Hex(d.Final()) + "-" + std::to_string(found.size());
  const KeyPath& key = std::get<KeyPath>(parsed);
  s = r.fs->WriteMeta(t.ino, *meta);
  if (s.ok()) s = r.fs->WriteEtag(t.ino, etag);
  auto target = s.ok() ? r.fs->MakeDirs(std::get<Ino>(b), key.dirs) : Result<Ino>(s);
  if (target.ok()) s = r.fs->Commit(t, *target, key.name);
  else s = target.status();
  if (!s.ok()) {
    r.fs->Discard(t);
    return FromStatus(s, r.key);
  }
  RemoveUpload(r, dir, r.http->Query("uploadId"));
  XmlWriter w("CompleteMultipartUploadResult");
  w.Leaf("Location", "/" + r.bucket + "/" + r.key);
  w.Leaf("Bucket", r.bucket);
  w.Leaf("Key", r.key);
  w.Leaf("ETag", "\"" + etag + "\"");
  r.Xml(w.Finish());
  return std::nullopt;
}

OpResult AbortMultipartUpload(S3Request& r) {
  auto up = ResolveUpload(r);
  if (auto* e = std::get_if<S3Error>(&up)) return *e;
  RemoveUpload(r, std::get<Ino>(up), r.http->Query("uploadId"));
  r.res->status = 204;
  return std::nullopt;
}

OpResult ListParts(S3Request& r) {
  auto up = ResolveUpload(r);
  if (auto* e = std::get_if<S3Error>(&up)) return *e;
  auto items = r.fs->ReadWholeDir(std::get<Ino>(up));
  if (!items.ok()) return FromStatus(items.status());
  int marker = 0;
  if (r.http->HasQuery("part-number-marker")) {
    marker = std::max(0, std::atoi(r.http->Query("part-number-marker").c_str()));
  }
  size_t max_parts = 1000;
  if (r.http->HasQuery("max-parts")) {
    max_parts = std::clamp(std::atoi(r.http->Query("max-parts").c_str()), 0, 1000);
  }
  std::vector<std::pair<int, const vfs::DirItem*>> parts;
  for (const auto& it : *items) {
    int n = ParsePartNumber(it.name);
    if (n > marker && it.name.size() == 5) parts.emplace_back(n, &it);
  }
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const bool truncated = parts.size() > max_parts;
  if (truncated) parts.resize(max_parts);
  XmlWriter w("ListPartsResult");
  w.Leaf("Bucket", r.bucket);
  w.Leaf("Key", r.key);
  w.Leaf("UploadId", r.http->Query("uploadId"));
  w.Leaf("PartNumberMarker", static_cast<uint64_t>(marker));
  if (!parts.empty()) w.Leaf("NextPartNumberMarker", static_cast<uint64_t>(parts.back().first));
  w.Leaf("MaxParts", static_cast<uint64_t>(max_parts));
  w.Leaf("IsTruncated", truncated);
  w.Leaf("StorageClass", "STANDARD");
  for (const auto& [n, it] : parts) {
    Attr a = it->attr.value_or(Attr{});
    auto etag = r.fs->Etag(it->ino, a);
    if (!etag.ok()) continue;  // replaced meanwhile
    w.Open("Part");
    w.Leaf("PartNumber", static_cast<uint64_t>(n));
    w.Leaf("LastModified", IsoTime(a.mtime.sec, a.mtime.nsec));
    w.Leaf("ETag", "\"" + *etag + "\"");
    w.Leaf("Size", a.length);
    w.Close();
  }
  r.Xml(w.Finish());
  return std::nullopt;
}

OpResult ListMultipartUploads(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  const std::string prefix = r.http->Query("prefix");
  if (!MayList(*r.user, r.bucket, prefix)) return AccessDenied();
  struct Upload {
    std::string key, id;
    Attr attr;
  };
  std::vector<Upload> uploads;
  if (r.fs->uploads_dir() != 0) {
    auto items = r.fs->ReadWholeDir(r.fs->uploads_dir());
    if (!items.ok()) return FromStatus(items.status());
    for (const auto& it : *items) {
      if (!IsUploadId(it.name)) continue;
      auto bucket = r.fs->volume().GetXattr(r.fs->ctx(), it.ino, kBucketXattr);
      auto key = r.fs->volume().GetXattr(r.fs->ctx(), it.ino, kKeyXattr);
      if (!bucket.ok() || !key.ok() || *bucket != r.bucket || key->rfind(prefix, 0) != 0) continue;
      if (!MaySee(*r.user, r.bucket, *key)) continue;
      uploads.push_back(Upload{*key, it.name, it.attr.value_or(Attr{})});
    }
  }
  std::sort(uploads.begin(), uploads.end(), [](const Upload& a, const Upload& b) {
    return a.key != b.key ? a.key < b.key : a.id < b.id;
  });
  XmlWriter w("ListMultipartUploadsResult");
  w.Leaf("Bucket", r.bucket);
  w.Leaf("KeyMarker", "");
  w.Leaf("UploadIdMarker", "");
  w.Leaf("Prefix", prefix);
  w.Leaf("MaxUploads", static_cast<uint64_t>(1000));
  w.Leaf("IsTruncated", uploads.size() > 1000);
  if (uploads.size() > 1000) uploads.resize(1000);
  for (const Upload& u : uploads) {
    w.Open("Upload");
    w.Leaf("Key", u.key);
    w.Leaf("UploadId", u.id);
    w.Leaf("StorageClass", "STANDARD");
    w.Leaf("Initiated", IsoTime(u.attr.ctime.sec, u.attr.ctime.nsec));
    w.Close();
  }
  r.Xml(w.Finish());
  return std::nullopt;
}

}  // namespace strata::gateway
