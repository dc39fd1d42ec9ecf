// PutObject and CopyObject. Both write a new file under .s3-uploads/tmp, give it its metadata
// and ETag, and only then rename it over the key (mkdir -p of the key's directories first):
// a reader sees the old object or the new one, never part of one, and a failed or refused
// upload leaves the namespace as it was (its temp file is removed). A copy shares the
// source's stored slices (copy_file_range in metadata): no data is read or written.
#include "gateway/access.h"
#include "gateway/ops.h"
#include "gateway/xml.h"

namespace strata::gateway {
namespace {

constexpr char kEmptyMd5[] = "d41d8cd98f00b204e9800998ecf8427e";

// Gives the temp file its metadata and ETag, then renames it to the key. On failure the
// temp file is removed.
OpResult Publish(S3Request& r, Ino bucket, const KeyPath& key, TempFile& t, const ObjectMeta& m,
                 const std::string& etag) {
  Status s = r.fs->WriteMeta(t.ino, m);
  if (s.ok()) s = r.fs->WriteEtag(t.ino, etag);
  Result<Ino> dir = s.ok() ? r.fs->MakeDirs(bucket, key.dirs) : Result<Ino>(s);
  if (dir.ok()) s = r.fs->Commit(t, *dir, key.name);
  if (!dir.ok()) s = dir.status();
  if (!s.ok()) {
    r.fs->Discard(t);
    return FromStatus(s, r.key);
  }
  return std::nullopt;
}

}  // namespace

OpResult PutObject(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  const KeyPath& key = std::get<KeyPath>(parsed);
  const Ino bucket = std::get<Ino>(b);
  if (key.folder) {
    // A "folder" object: a directory. Its body must be empty.
    auto body = ReadSmallBody(r, 0);
    if (auto* e = std::get_if<S3Error>(&body)) return *e;
    auto dir = r.fs->MakeDirs(bucket, key.dirs);
    if (!dir.ok()) return FromStatus(dir.status(), r.key);
    r.res->Header("ETag", std::string("\"") + kEmptyMd5 + "\"");
    return std::nullopt;
  }
  auto temp = r.fs->CreateTemp();
  if (!temp.ok()) return FromStatus(temp.status(), r.key);
  TempFile& t = *temp;
  OpResult err = StreamBody(r, [&](std::string_view piece) { return r.fs->Append(t, piece); });
  if (!err) {
    Status closed = r.fs->Close(t);
    if (!closed.ok()) err = FromStatus(closed, r.key);
  }
  std::string md5;
  if (!err) {
    md5 = t.md5.Final();
    err = CheckContentMd5(r, md5);
  }
  if (err) {
    r.fs->Discard(t);
    return err;
  }
  const std::string etag = Hex(md5);
  if (auto e = Publish(r, bucket, key, t, MetaFromRequest(*r.http), etag)) return e;
  r.res->Header("ETag", "\"" + etag + "\"");
  return std::nullopt;
}

OpResult CopyObject(S3Request& r) {
  auto src = ParseCopySource(r.http->Header("x-amz-copy-source"));
  if (auto* e = std::get_if<S3Error>(&src)) return *e;
  const auto& [src_bucket, src_key] = std::get<std::pair<std::string, std::string>>(src);
  if (!MayAccessKey(*r.user, src_bucket, src_key, Access::kRead)) return AccessDenied();
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  const KeyPath& key = std::get<KeyPath>(parsed);
  if (key.folder) return InvalidArgument("cannot copy onto a folder key");
  if (auto e = CheckBucketName(src_bucket)) return *e;
  auto sb = r.fs->Bucket(src_bucket);
  if (!sb.ok()) return NoSuchBucket(src_bucket);
  auto sparsed = ParseKey(src_key);
  if (auto* e = std::get_if<S3Error>(&sparsed)) return *e;
  auto obj = r.fs->LookupObject(*sb, std::get<KeyPath>(sparsed));
  if (!obj.ok()) return FromStatus(obj.status(), src_key);
  auto etag = r.fs->Etag(obj->ino, obj->attr);
  if (!etag.ok()) return FromStatus(etag.status(), src_key);
  std::string cond = r.http->Header("x-amz-copy-source-if-match");
  if (!cond.empty() && cond != *etag && cond != "\"" + *etag + "\"") {
    return S3Error{412, "PreconditionFailed", "x-amz-copy-source-if-match did not hold"};
  }
  const bool replace = r.http->Header("x-amz-metadata-directive") == "REPLACE";
  if (!replace && src_bucket == r.bucket && src_key == r.key) {
    return InvalidRequest(
        "This copy request is illegal because it is trying to copy an object to itself without "
        "changing the object's metadata.");
  }
  ObjectMeta m;
  if (replace) {
    m = MetaFromRequest(*r.http);
  } else {
    auto sm = r.fs->ReadMeta(obj->ino);
    if (!sm.ok()) return FromStatus(sm.status(), src_key);
    m = std::move(*sm);
  }

  auto temp = r.fs->CreateTemp();
  if (!temp.ok()) return FromStatus(temp.status(), r.key);
  TempFile& t = *temp;
  Status s;
  auto fh = r.fs->OpenRead(obj->ino);
  if (!fh.ok()) s = fh.status();
  uint64_t done = 0;
  while (s.ok() && done < obj->attr.length) {
    auto n = r.fs->volume().CopyFileRange(r.fs->ctx(), obj->ino, *fh, done, t.ino, t.fh, done,
                                          obj->attr.length - done);
    if (!n.ok()) s = n.status();
    else if (*n == 0) s = Status::IOError("source shrank while it was copied");
    else done += *n;
  }
  if (fh.ok()) r.fs->Release(obj->ino, *fh);
  if (s.ok()) s = r.fs->Close(t);
  if (!s.ok()) {
    r.fs->Discard(t);
    return FromStatus(s, r.key);
  }
  if (auto e = Publish(r, std::get<Ino>(b), key, t, m, *etag)) return e;
  auto after = r.fs->LookupObject(std::get<Ino>(b), key);
  XmlWriter w("CopyObjectResult");
  w.Leaf("LastModified", after.ok() ? IsoTime(after->attr.mtime.sec, after->attr.mtime.nsec)
                                    : IsoTime(r.NowSeconds()));
  w.Leaf("ETag", "\"" + *etag + "\"");
  r.Xml(w.Finish());
  return std::nullopt;
}

}  // namespace strata::gateway
