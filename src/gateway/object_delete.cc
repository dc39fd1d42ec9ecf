// DeleteObject and DeleteObjects (POST ?delete). Deleting a missing key succeeds (S3);
// directories left empty by a delete are removed up to the bucket (object_fs.h).
#include "gateway/access.h"
#include "gateway/digest.h"
#include "gateway/ops.h"
#include "gateway/xml.h"

namespace strata::gateway {

OpResult DeleteObject(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  Status s = r.fs->DeleteObject(std::get<Ino>(b), std::get<KeyPath>(parsed));
  if (!s.ok()) return FromStatus(s, r.key);
  r.res->status = 204;
  return std::nullopt;
}

OpResult DeleteObjects(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto body = ReadSmallBody(r, 2 << 20);
  if (auto* e = std::get_if<S3Error>(&body)) return *e;
  const std::string& text = std::get<std::string>(body);
  if (r.http->HasHeader("content-md5")) {
    Digest md5 = Digest::Md5();
    md5.Update(text);
    if (auto e = CheckContentMd5(r, md5.Final())) return e;
  }
  auto req = ParseDelete(text);
  if (!req.ok()) return MalformedXml(std::string(req.status().message()));
  XmlWriter w("DeleteResult");
  for (const std::string& key : req->keys) {
    std::optional<S3Error> err;
    auto parsed = ParseKey(key);
    if (auto* e = std::get_if<S3Error>(&parsed)) {
      err = *e;
    } else if (!MayAccessKey(*r.user, r.bucket, key, Access::kWrite)) {
      err = AccessDenied();
    } else {
      Status s = r.fs->DeleteObject(std::get<Ino>(b), std::get<KeyPath>(parsed));
      if (!s.ok()) err = FromStatus(s, key);
    }
    if (err) {
      w.Open("Error");
      w.Leaf("Key", key);
      w.Leaf("Code", err->code);
      w.Leaf("Message", err->message);
      w.Close();
    } else if (!req->quiet) {
      w.Open("Deleted");
      w.Leaf("Key", key);
      w.Close();
    }
  }
  r.Xml(w.Finish());
  return std::nullopt;
}

}  // namespace strata::gateway
