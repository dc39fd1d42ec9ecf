// S3Request: one S3 call on its way through the gateway — the HTTP request and response, the
// bucket and key it names, who signed it, and the object view to work on. Built by Gateway,
// routed by router.cc, served by the operation files (ops.h).
//
// Thread-safety: belongs to the worker thread serving the request.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "gateway/http.h"
#include "gateway/object_fs.h"
#include "gateway/s3_error.h"
#include "gateway/sigv4_verify.h"
#include "gateway/users.h"

namespace strata::gateway {

// nullopt: the operation succeeded and filled the response.
using OpResult = std::optional<S3Error>;

struct S3Request {
  HttpRequest* http = nullptr;
  HttpResponse* res = nullptr;
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // "" for bucket operations
  VerifiedRequest auth;
  std::optional<User> user;  // nullopt: anonymous (a public read)
  ObjectFs* fs = nullptr;
  Clock* clock = nullptr;
  std::string region;
  std::string request_id;

  int64_t NowSeconds() const { return clock->NowNanos() / 1000000000; }
  void Xml(std::string body, int status = 200) {
    res->status = status;
    res->content_type = "application/xml";
    res->body = std::move(body);
  }
};

}  // namespace strata::gateway
