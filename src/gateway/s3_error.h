// S3Error: what the gateway answers when a request fails — an HTTP status, an S3 error code
// ("NoSuchKey", "SignatureDoesNotMatch", ...) and a message, rendered as S3 error XML
// (xml.h RenderError). FromStatus is the one place where a StrataFS Status becomes an S3 error
// (STYLE.md "Convert at the edges only").
//
// Thread-safety: values and pure functions.
#pragma once

#include <string>

#include "common/status.h"

namespace strata::gateway {

struct S3Error {
  int http = 500;
  std::string code = "InternalError";
  std::string message;
};

// Named constructors for the codes the gateway uses (AWS S3 API reference, "Error codes").
S3Error AccessDenied(std::string msg = "Access Denied");
S3Error SignatureDoesNotMatch(std::string msg);
S3Error InvalidAccessKeyId();
S3Error RequestTimeTooSkewed();
S3Error ExpiredToken(std::string msg);
S3Error NoSuchBucket(const std::string& bucket);
S3Error NoSuchKey(const std::string& key);
S3Error NoSuchUpload(const std::string& id);
S3Error InvalidArgument(std::string msg);
S3Error InvalidRequest(std::string msg);
S3Error InvalidBucketName(const std::string& bucket);
S3Error KeyTooLong();
S3Error NotImplemented(std::string what);
S3Error MalformedXml(std::string msg = "The XML you provided was not well-formed");

// The S3 error for a Status of the file system (kNotFound -> 404 NoSuchKey naming `key`,
// kPermissionDenied -> 403, kNoSpace/kQuotaExceeded -> 507-ish "EntityTooLarge"... see .cc).
S3Error FromStatus(const Status& s, const std::string& key = "");

}  // namespace strata::gateway
