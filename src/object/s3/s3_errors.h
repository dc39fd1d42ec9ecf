// The one place where S3 HTTP answers become Status codes (STYLE.md: convert at the edges).
//
//   404 NoSuchKey / bodiless 404  -> kNotFound "no such key: K"
//   NoSuchBucket                  -> kNotFound "bucket B does not exist at ENDPOINT"
//   NoSuchUpload                  -> kNotFound "no such multipart upload"
//   403, AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, expired tokens
//                                 -> kPermissionDenied, message says "403 Forbidden"
//   500, 502, 503 (SlowDown), 504, 429, InternalError -> kUnavailable (retryable)
//   RequestTimeout                -> kTimeout (retryable)
//   409 (OperationAborted, conflicting operation)     -> kConflict (retryable)
//   wrong region (301 PermanentRedirect, AuthorizationHeaderMalformed with a region)
//                                 -> kInvalidArgument "bucket B is in region R; pass --region R"
//   501 NotImplemented, 405 MethodNotAllowed (a server lacking an operation) -> kNotSupported
//   other 4xx (InvalidPart, EntityTooSmall, ...) -> kInvalidArgument; anything else kIOError
// Every message names the operation, the key when there is one and the store (no secrets),
// and carries the server's own code and message.
//
// Thread-safety: pure function.
#pragma once

#include <string_view>

#include "common/status.h"
#include "object/s3/http_client.h"
#include "object/s3/s3_config.h"

namespace strata::object::s3 {

// REQUIRES: resp.status is not 2xx, or the body is an <Error> document (S3 may answer a
// CompleteMultipartUpload with 200 and an error body).
Status ErrorFromResponse(const HttpResponse& resp, std::string_view op, std::string_view key,
                         const S3Endpoint& ep);

// True for 2xx answers that do not hide an <Error> document.
bool IsSuccess(const HttpResponse& resp);

}  // namespace strata::object::s3
