// The S3 operations, one group per file; router.cc picks one per request after the signature
// and the user's grants were checked. Each fills the response or returns the S3 error.
//
//   bucket_ops.cc    ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation
//   object_get.cc    GetObject, HeadObject (ranges, conditional requests)
//   object_put.cc    PutObject, CopyObject
//   object_delete.cc DeleteObject, DeleteObjects
//   listing.cc       ListObjects (v1), ListObjectsV2
//   multipart.cc     Create/UploadPart/UploadPartCopy/Complete/Abort, ListParts, ListMultipartUploads
//
// Thread-safety: each call serves one request on the calling thread.
#pragma once

#include "gateway/request.h"

namespace strata::gateway {

OpResult ListBuckets(S3Request& r);
OpResult CreateBucket(S3Request& r);
OpResult DeleteBucket(S3Request& r);
OpResult HeadBucket(S3Request& r);
OpResult GetBucketLocation(S3Request& r);

OpResult GetObject(S3Request& r, bool head);
OpResult PutObject(S3Request& r);
OpResult CopyObject(S3Request& r);
OpResult DeleteObject(S3Request& r);
OpResult DeleteObjects(S3Request& r);

OpResult ListObjects(S3Request& r, bool v2);

OpResult CreateMultipartUpload(S3Request& r);
OpResult UploadPart(S3Request& r);
OpResult CompleteMultipartUpload(S3Request& r);
OpResult AbortMultipartUpload(S3Request& r);
OpResult ListParts(S3Request& r);
OpResult ListMultipartUploads(S3Request& r);

// ---- Shared by the operation files (op_util.cc)
// The bucket's directory, or NoSuchBucket.
std::variant<Ino, S3Error> ResolveBucket(S3Request& r);
// Streams the body into sink, decoded (aws-chunked) and verified (payload hash, chunk
// signatures).
OpResult StreamBody(S3Request& r, const std::function<Status(std::string_view)>& sink);
// The whole body of a small request (XML of Complete/Delete); at most `max` bytes.
std::variant<std::string, S3Error> ReadSmallBody(S3Request& r, size_t max);
// Checks Content-MD5 (when sent) against the binary MD5 of what was received.
OpResult CheckContentMd5(S3Request& r, const std::string& md5);
// Content-Type, the stored headers and x-amz-meta-* of the request.
ObjectMeta MetaFromRequest(const HttpRequest& req);
// Sets the response headers of an object's metadata.
void SetMetaHeaders(HttpResponse& res, const ObjectMeta& m);
// "bucket/key" source of x-amz-copy-source, decoded; error for a malformed one.
std::variant<std::pair<std::string, std::string>, S3Error> ParseCopySource(const std::string& v);

}  // namespace strata::gateway
