// ListObjects (v1) and ListObjectsV2 over the listing walk (listing.h). Continuation tokens
// are the base64 of the last key returned; encoding-type=url percent-encodes keys and
// prefixes in the answer.
#include "gateway/access.h"
#include "gateway/digest.h"
#include "gateway/listing.h"
#include "gateway/ops.h"
#include "gateway/xml.h"
#include "object/s3/sigv4.h"

namespace strata::gateway {

OpResult ListObjects(S3Request& r, bool v2) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  const HttpRequest& q = *r.http;
  ListQuery lq;
  lq.prefix = q.Query("prefix");
  lq.delimiter = q.Query("delimiter");
  if (auto e = CheckPrefix(lq.prefix)) return *e;
  if (q.HasQuery("max-keys")) {
    const std::string mk = q.Query("max-keys");
    if (mk.empty() || mk.size() > 9 ||
        !std::all_of(mk.begin(), mk.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return InvalidArgument("max-keys must be a non-negative integer");
    }
    lq.max_keys = std::min<size_t>(1000, std::stoul(mk));
  }
  const bool url = q.Query("encoding-type") == "url";
  if (q.HasQuery("encoding-type") && !url) return InvalidArgument("encoding-type must be url");
  std::string token;
  if (v2) {
    token = q.Query("continuation-token");
    if (!token.empty()) {
      lq.after = Unbase64(token);
      if (lq.after.empty()) return InvalidArgument("The continuation token provided is incorrect");
    } else {
      lq.after = q.Query("start-after");
    }
  } else {
    lq.after = q.Query("marker");
  }
  if (!MayList(*r.user, r.bucket, lq.prefix)) return AccessDenied();
  const User& user = *r.user;
  const std::string& bucket = r.bucket;
  auto page = ListKeys(*r.fs, std::get<Ino>(b), lq, [&](const std::string& k) {
    return MaySee(user, bucket, k);
  });
  if (!page.ok()) return FromStatus(page.status());

  auto enc = [url](const std::string& s) {
    return url ? object::s3::UriEncode(s, true) : s;
  };
  XmlWriter w("ListBucketResult");
  w.Leaf("Name", r.bucket);
  w.Leaf("Prefix", enc(lq.prefix));
  if (v2) {
    w.Leaf("KeyCount", static_cast<uint64_t>(page->objects.size() + page->prefixes.size()));
    if (!token.empty()) w.Leaf("ContinuationToken", token);
    if (q.HasQuery("start-after")) w.Leaf("StartAfter", enc(q.Query("start-after")));
  } else {
    w.Leaf("Marker", enc(lq.after));
  }
  w.Leaf("MaxKeys", static_cast<uint64_t>(lq.max_keys));
  if (!lq.delimiter.empty()) w.Leaf("Delimiter", enc(lq.delimiter));
  if (url) w.Leaf("EncodingType", "url");
  w.Leaf("IsTruncated", page->truncated);
  if (page->truncated) {
    if (v2) {
      w.Leaf("NextContinuationToken", Base64(page->last));
    } else {
      w.Leaf("NextMarker", enc(page->last));
    }
  }
  for (const ListedObject& o : page->objects) {
    auto etag = r.fs->Etag(o.ino, o.attr);
    if (!etag.ok()) {
      if (etag.status().Is(Code::kNotFound)) continue;  // removed meanwhile
      return FromStatus(etag.status(), o.key);
    }
    w.Open("Contents");
    w.Leaf("Key", enc(o.key));
    w.Leaf("LastModified", IsoTime(o.attr.mtime.sec, o.attr.mtime.nsec));
    w.Leaf("ETag", "\"" + *etag + "\"");
    w.Leaf("Size", o.attr.length);
    w.Leaf("StorageClass", "STANDARD");
    if (!v2 || q.Query("fetch-owner") == "true") {
      w.Open("Owner");
      w.Leaf("ID", std::to_string(o.attr.uid));
      w.Leaf("DisplayName", std::to_string(o.attr.uid));
      w.Close();
    }
    w.Close();
  }
  for (const std::string& p : page->prefixes) {
    w.Open("CommonPrefixes");
    w.Leaf("Prefix", enc(p));
    w.Close();
  }
  r.Xml(w.Finish());
  return std::nullopt;
}

}  // namespace strata::gateway
