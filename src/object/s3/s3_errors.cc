#include "object/s3/s3_errors.h"

#include "object/s3/s3_xml.h"

namespace strata::object::s3 {
namespace {

std::string_view Reason(int status) {
  switch (status) {
    case 301: return "Moved Permanently";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace

bool IsSuccess(const HttpResponse& resp) {
  if (resp.status < 200 || resp.status >= 300) return false;
  // Only small bodies of operations that answer XML may hide an error (CompleteMultipart).
  if (resp.body.size() > 64 * 1024 || resp.body.find("<Error") == std::string::npos) return true;
  return !ParseError(resp.body).has_value();
}

Status ErrorFromResponse(const HttpResponse& resp, std::string_view op, std::string_view key,
                         const S3Endpoint& ep) {
  std::optional<S3Error> err = ParseError(resp.body);
  const std::string code = err ? err->code : "";
  std::string what = std::string(op);
  if (!key.empty()) what += " " + std::string(key);
  what += " on " + ep.Describe();

  std::string detail = std::to_string(resp.status);
  if (!Reason(resp.status).empty()) detail += " " + std::string(Reason(resp.status));
  if (!code.empty()) detail += ": " + code;
  if (err && !err->message.empty()) detail += ": " + err->message;
  const std::string msg = what + ": " + detail;

  std::string region = err ? err->region : "";
  if (region.empty()) region = resp.Header("x-amz-bucket-region");
  if ((resp.status == 301 || code == "PermanentRedirect" ||
       code == "AuthorizationHeaderMalformed" || code == "IllegalLocationConstraintException") &&
      !region.empty() && region != ep.region) {
    return Status::InvalidArgument("bucket " + ep.bucket + " is in region " + region +
                                   ", not " + ep.region + "; pass --region " + region + " (" +
                                   msg + ")");
  }
  if (code == "NoSuchBucket") {
    return Status::NotFound("bucket " + ep.bucket + " does not exist at " + ep.BaseUrl() + " (" +
                            msg + ")");
  }
  if (code == "NoSuchUpload") return Status::NotFound("no such multipart upload: " + msg);
  if (code == "NoSuchKey" || (resp.status == 404 && code.empty())) {
    return Status::NotFound("no such key: " + msg);
  }
  if (code == "RequestTimeout") return Status::Timeout(msg);
  if (code == "SlowDown" || code == "InternalError" || code == "ServiceUnavailable" ||
      resp.status == 429 || resp.status == 500 || resp.status == 502 || resp.status == 503 ||
      resp.status == 504) {
    return Status::Unavailable(msg);
  }
  if (resp.status == 403 || code == "AccessDenied" || code == "InvalidAccessKeyId" ||
      code == "SignatureDoesNotMatch" || code == "ExpiredToken" || code == "InvalidToken" ||
      code == "RequestTimeTooSkewed") {
    return Status::PermissionDenied(msg);
  }
  if (resp.status == 409 || code == "OperationAborted") return Status::Conflict(msg);
  if (resp.status == 501 || resp.status == 405 || code == "NotImplemented" ||
      code == "MethodNotAllowed") {
    return Status::NotSupported(msg);
  }
  if (resp.status == 404) return Status::NotFound(msg);
  if (resp.status >= 400 && resp.status < 500) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

}  // namespace strata::object::s3
