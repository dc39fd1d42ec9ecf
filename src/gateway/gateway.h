// Gateway: the S3 front end of one volume (DESIGN.md §8). Built on a client::Client (the
// composition root: Volume, metrics, clock), it serves the S3 REST API over HTTP: every
// request's signature is verified (sigv4_verify.h), its user found (users.h), its right
// checked against the user's grants (access.h), then routed (router.h) to an operation
// (ops.h) working on the volume through ObjectFs. Errors become S3 error XML here.
//
// Ownership: borrows the Client (it must outlive the Gateway); owns the HTTP server, the
// user store and the object view. Destruction (or Stop) stops the server gracefully: no new
// connections, requests being served finish.
// Thread-safety: Handle is called from the server's workers concurrently; Start/Stop from
// the owning thread.
// Errors from Start: kInvalidArgument for bad options, kUnavailable when the address cannot be
// bound, the volume's errors creating the upload directory.
#pragma once

#include <memory>
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"
#include "gateway/object_fs.h"
#include "gateway/users.h"

namespace strata::gateway {

struct GatewayOptions {
  HttpServerOptions http;
  std::string access_key;  // root credentials (required)
  std::string secret_key;
  std::string region = "us-east-1";  // --region: answered by GetBucketLocation
  uint32_t uid = 0;  // --uid/--gid: who the gateway is on the volume (owner of what it writes)
  uint32_t gid = 0;
  Status Validate() const;
};

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> Start(client::Client* client,
                                                const GatewayOptions& options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void Stop();
  int port() const { return server_ ? server_->port() : 0; }
  // One request, start to end (the server calls this; tests may too).
  void Handle(HttpRequest& req, HttpResponse& res);

 private:
  Gateway() = default;
  void CountRequest(const std::string& op, int status, double seconds);

  client::Client* client_ = nullptr;
  GatewayOptions options_;
  std::unique_ptr<ObjectFs> fs_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<HttpServer> server_;  // last: stopped first
};

}  // namespace strata::gateway
