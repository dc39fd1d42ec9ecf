#include "gateway/s3_error.h"

namespace strata::gateway {

S3Error AccessDenied(std::string msg) { return {403, "AccessDenied", std::move(msg)}; }
S3Error SignatureDoesNotMatch(std::string msg) {
  return {403, "SignatureDoesNotMatch", std::move(msg)};
}
S3Error InvalidAccessKeyId() {
  return {403, "InvalidAccessKeyId",
          "The AWS Access Key Id you provided does not exist in our records."};
}
S3Error RequestTimeTooSkewed() {
  return {403, "RequestTimeTooSkewed",
          "The difference between the request time and the server's time is too large."};
}
S3Error ExpiredToken(std::string msg) { return {403, "AccessDenied", std::move(msg)}; }
S3Error NoSuchBucket(const std::string& bucket) {
  return {404, "NoSuchBucket", "The specified bucket does not exist: " + bucket};
}
S3Error NoSuchKey(const std::string& key) {
  return {404, "NoSuchKey", "The specified key does not exist: " + key};
}
S3Error NoSuchUpload(const std::string& id) {
  return {404, "NoSuchUpload", "The specified multipart upload does not exist: " + id};
}
S3Error InvalidArgument(std::string msg) { return {400, "InvalidArgument", std::move(msg)}; }
S3Error InvalidRequest(std::string msg) { return {400, "InvalidRequest", std::move(msg)}; }
S3Error InvalidBucketName(const std::string& bucket) {
  return {400, "InvalidBucketName", "The specified bucket is not valid: " + bucket};
}
S3Error KeyTooLong() { return {400, "KeyTooLongError", "Your key is too long (over 1024 bytes)"}; }
S3Error NotImplemented(std::string what) {
  return {501, "NotImplemented", what + " is not implemented by this gateway"};
}
S3Error MalformedXml(std::string msg) { return {400, "MalformedXML", std::move(msg)}; }

S3Error FromStatus(const Status& s, const std::string& key) {
  std::string msg(s.message());
  switch (s.code()) {
    case Code::kNotFound:
      return NoSuchKey(key);
    case Code::kPermissionDenied:
    case Code::kNotPermitted:
      return AccessDenied();
    case Code::kReadOnly:
      return {403, "AccessDenied", "the gateway serves a read-only volume"};
    case Code::kAlreadyExists:
    case Code::kIsDir:
    case Code::kNotDir:
    case Code::kNotEmpty:
      // A key that would need a directory where a file is, or the reverse: the one thing a
      // file system cannot hold that S3 can (a/b as an object and a/b/c too).
      return {409, "OperationAborted", "key conflicts with a file or directory: " + key +
                                           " (" + msg + ")"};
    case Code::kInvalidArgument:
    case Code::kOutOfRange:
      return InvalidArgument(msg);
    case Code::kNameTooLong:
      return KeyTooLong();
    case Code::kNoSpace:
    case Code::kQuotaExceeded:
    case Code::kFileTooLarge:
      return {400, "EntityTooLarge", "no space for this object: " + msg};
    case Code::kNotSupported:
      return NotImplemented(msg);
    case Code::kUnavailable:
    case Code::kTimeout:
    case Code::kConflict:
    case Code::kBusy:
      return {503, "SlowDown", msg};
    default:
      return {500, "InternalError", msg};
  }
}

}  // namespace strata::gateway
