// Routing: which S3 operation a request is (method, path-style bucket/key, sub-resource
// query parameters), whether its caller may do it, and the call into ops.h. Virtual-host
// style addressing is not served (clients are configured for path style).
//
// Thread-safety: pure functions over the request.
#pragma once

#include <string>

#include "gateway/request.h"

namespace strata::gateway {

// Splits "/bucket/key..." (decoded). false for a path that does not start with '/'.
bool SplitPath(const std::string& path, std::string* bucket, std::string* key);

// A short name of the operation for metrics and logs ("GetObject", ...).
std::string OperationName(const S3Request& r);

// Checks the caller's right to the operation, then runs it.
OpResult Route(S3Request& r);

}  // namespace strata::gateway
