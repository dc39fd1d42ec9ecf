#include "gateway/router.h"

#include "gateway/access.h"
#include "gateway/ops.h"

namespace strata::gateway {
namespace {

// Sub-resources the gateway does not serve (ACLs, policies, tagging, versioning...): a
// request for one gets NotImplemented rather than being taken for a plain GET/PUT.
const char* UnsupportedSubresource(const HttpRequest& h) {
  static const char* kNames[] = {"acl",        "policy",     "cors",     "lifecycle",
                                 "tagging",    "versioning", "website",  "logging",
                                 "notification", "replication", "encryption", "object-lock",
                                 "retention",  "legal-hold", "torrent",  "restore",
                                 "select",     "versions",   "ownershipControls",
                                 "publicAccessBlock", "accelerate", "requestPayment",
                                 "analytics",  "inventory",  "metrics",  "intelligent-tiering",
                                 "attributes"};
  for (const char* n : kNames) {
    if (h.HasQuery(n)) return n;
  }
  return nullptr;
}

enum class Op {
  kListBuckets, kCreateBucket, kDeleteBucket, kHeadBucket, kGetBucketLocation, kListObjects,
  kListObjectsV2, kListUploads, kDeleteObjects, kGetObject, kHeadObject, kPutObject,
  kCopyObject, kDeleteObject, kCreateUpload, kUploadPart, kCompleteUpload, kAbortUpload,
  kListParts, kUnsupported,
};

Op Classify(const S3Request& r) {
  const HttpRequest& h = *r.http;
  const std::string& m = h.method;
  if (UnsupportedSubresource(h)) return Op::kUnsupported;
  if (r.bucket.empty()) return m == "GET" ? Op::kListBuckets : Op::kUnsupported;
  if (r.key.empty()) {
    if (m == "GET") {
      if (h.HasQuery("location")) return Op::kGetBucketLocation;
      if (h.HasQuery("uploads")) return Op::kListUploads;
      return h.Query("list-type") == "2" ? Op::kListObjectsV2 : Op::kListObjects;
    }
    if (m == "HEAD") return Op::kHeadBucket;
    if (m == "PUT") return Op::kCreateBucket;
    if (m == "DELETE") return Op::kDeleteBucket;
    if (m == "POST" && h.HasQuery("delete")) return Op::kDeleteObjects;
    return Op::kUnsupported;
  }
  if (m == "GET") return h.HasQuery("uploadId") ? Op::kListParts : Op::kGetObject;
  if (m == "HEAD") return Op::kHeadObject;
  if (m == "PUT") {
    if (h.HasQuery("uploadId") || h.HasQuery("partNumber")) return Op::kUploadPart;
    return h.HasHeader("x-amz-copy-source") ? Op::kCopyObject : Op::kPutObject;
  }
  if (m == "DELETE") return h.HasQuery("uploadId") ? Op::kAbortUpload : Op::kDeleteObject;
  if (m == "POST") {
    if (h.HasQuery("uploads")) return Op::kCreateUpload;
    if (h.HasQuery("uploadId")) return Op::kCompleteUpload;
  }
  return Op::kUnsupported;
}

const char* Name(Op op) {
  switch (op) {
    case Op::kListBuckets: return "ListBuckets";
    case Op::kCreateBucket: return "CreateBucket";
    case Op::kDeleteBucket: return "DeleteBucket";
    case Op::kHeadBucket: return "HeadBucket";
    case Op::kGetBucketLocation: return "GetBucketLocation";
    case Op::kListObjects: return "ListObjects";
    case Op::kListObjectsV2: return "ListObjectsV2";
    case Op::kListUploads: return "ListMultipartUploads";
    case Op::kDeleteObjects: return "DeleteObjects";
    case Op::kGetObject: return "GetObject";
    case Op::kHeadObject: return "HeadObject";
    case Op::kPutObject: return "PutObject";
    case Op::kCopyObject: return "CopyObject";
    case Op::kDeleteObject: return "DeleteObject";
    case Op::kCreateUpload: return "CreateMultipartUpload";
    case Op::kUploadPart: return "UploadPart";
    case Op::kCompleteUpload: return "CompleteMultipartUpload";
    case Op::kAbortUpload: return "AbortMultipartUpload";
    case Op::kListParts: return "ListParts";
    case Op::kUnsupported: return "Unsupported";
  }
  return "Unsupported";
}

// The caller's right to the operation (listings and multi-delete check each key themselves).
bool Allowed(const S3Request& r, Op op) {
  if (!r.user) {
    // Anonymous: reads of public prefixes only (checked by the caller with the UserStore).
    return false;
  }
  const User& u = *r.user;
  switch (op) {
    case Op::kListBuckets:
      return true;
    case Op::kCreateBucket:
    case Op::kDeleteBucket:
      return MayAdminBuckets(u);
    case Op::kHeadBucket:
    case Op::kGetBucketLocation:
    case Op::kListObjects:
    case Op::kListObjectsV2:
    case Op::kListUploads:
    case Op::kDeleteObjects:
      return MaySeeBucket(u, r.bucket);
    case Op::kGetObject:
    case Op::kHeadObject:
      return MayAccessKey(u, r.bucket, r.key, Access::kRead);
    case Op::kPutObject:
    case Op::kCopyObject:
    case Op::kDeleteObject:
    case Op::kCreateUpload:
    case Op::kUploadPart:
    case Op::kCompleteUpload:
    case Op::kAbortUpload:
    case Op::kListParts:
      return MayAccessKey(u, r.bucket, r.key, Access::kWrite);
    case Op::kUnsupported:
      return true;
  }
  return false;
}

}  // namespace

bool SplitPath(const std::string& path, std::string* bucket, std::string* key) {
  if (path.empty() || path[0] != '/') return false;
  size_t slash = path.find('/', 1);
  if (slash == std::string::npos) {
    *bucket = path.substr(1);
    key->clear();
  } else {
    *bucket = path.substr(1, slash - 1);
    *key = path.substr(slash + 1);
  }
  return true;
}

std::string OperationName(const S3Request& r) { return Name(Classify(r)); }

OpResult Route(S3Request& r) {
  const Op op = Classify(r);
  if (op == Op::kUnsupported) {
    const char* sub = UnsupportedSubresource(*r.http);
    return NotImplemented(sub ? std::string("?") + sub : r.http->method + " here");
  }
  if (!Allowed(r, op)) return AccessDenied();
  switch (op) {
    case Op::kListBuckets: return ListBuckets(r);
    case Op::kCreateBucket: return CreateBucket(r);
    case Op::kDeleteBucket: return DeleteBucket(r);
    case Op::kHeadBucket: return HeadBucket(r);
    case Op::kGetBucketLocation: return GetBucketLocation(r);
    case Op::kListObjects: return ListObjects(r, false);
    case Op::kListObjectsV2: return ListObjects(r, true);
    case Op::kListUploads: return ListMultipartUploads(r);
    case Op::kDeleteObjects: return DeleteObjects(r);
    case Op::kGetObject: return GetObject(r, false);
    case Op::kHeadObject: return GetObject(r, true);
    case Op::kPutObject: return PutObject(r);
    case Op::kCopyObject: return CopyObject(r);
    case Op::kDeleteObject: return DeleteObject(r);
    case Op::kCreateUpload: return CreateMultipartUpload(r);
    case Op::kUploadPart: return UploadPart(r);
    case Op::kCompleteUpload: return CompleteMultipartUpload(r);
    case Op::kAbortUpload: return AbortMultipartUpload(r);
    case Op::kListParts: return ListParts(r);
    case Op::kUnsupported: break;
  }
  return NotImplemented("this request");
}

}  // namespace strata::gateway
