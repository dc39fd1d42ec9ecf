// Bucket operations: buckets are the top-level directories of the served root (ops.h).
#include "gateway/access.h"
#include "gateway/ops.h"
#include "gateway/xml.h"

namespace strata::gateway {

OpResult ListBuckets(S3Request& r) {
  auto buckets = r.fs->ListBuckets();
  if (!buckets.ok()) return FromStatus(buckets.status());
  XmlWriter w("ListAllMyBucketsResult");
  w.Open("Owner");
  w.Leaf("ID", r.user->name);
  w.Leaf("DisplayName", r.user->name);
  w.Close();
  w.Open("Buckets");
  for (const auto& b : *buckets) {
    if (!MaySeeBucket(*r.user, b.name)) continue;
    w.Open("Bucket");
    w.Leaf("Name", b.name);
    w.Leaf("CreationDate", IsoTime(b.attr.ctime.sec, b.attr.ctime.nsec));
    w.Close();
  }
  w.Close();
  r.Xml(w.Finish());
  return std::nullopt;
}

OpResult CreateBucket(S3Request& r) {
  if (auto e = CheckNewBucketName(r.bucket)) return *e;
  // A CreateBucketConfiguration (LocationConstraint) may come along; any region is ours.
  auto body = ReadSmallBody(r, 64 << 10);
  if (auto* e = std::get_if<S3Error>(&body)) return *e;
  Status s = r.fs->CreateBucket(r.bucket);
  if (s.Is(Code::kAlreadyExists)) {
    return S3Error{409, "BucketAlreadyOwnedByYou",
                   "Your previous request to create the named bucket succeeded and you already own it."};
  }
  if (!s.ok()) return FromStatus(s);
  r.res->Header("Location", "/" + r.bucket);
  r.res->status = 200;
  r.res->body.clear();
  return std::nullopt;
}

OpResult DeleteBucket(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  Status s = r.fs->DeleteBucket(r.bucket);
  if (s.Is(Code::kNotEmpty)) {
    return S3Error{409, "BucketNotEmpty", "The bucket you tried to delete is not empty"};
  }
  if (!s.ok()) return FromStatus(s);
  r.res->status = 204;
  return std::nullopt;
}

OpResult HeadBucket(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  r.res->status = 200;
  r.res->Header("x-amz-bucket-region", r.region);
  return std::nullopt;
}

OpResult GetBucketLocation(S3Request& r) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
                     std::string(kS3Namespace) + "\">" +
                     (r.region == "us-east-1" ? "" : XmlEscape(r.region)) +
                     "</LocationConstraint>";
  r.Xml(body);
  return std::nullopt;
}

}  // namespace strata::gateway
