// HttpServer: the gateway's HTTP/1.1 server, an adapter over cpp-httplib (Debian
// libcpp-httplib-dev, already used by the metrics endpoint; docs/architecture.md says why it
// and not Boost.Beast). It gives us a bounded worker pool (one thread per connection being
// served, `threads` at most), keep-alive, chunked request bodies, Expect: 100-continue, read
// and write timeouts, and streamed request and response bodies; it turns each request into the
// plain types of http.h and calls the handler. Only this file's .cc includes httplib.
//
// Ownership: owns its listening thread and workers; the handler must stay valid until Stop
// (or the destructor) returns. Stop is graceful: the listener closes, requests being served
// finish, then the workers are joined.
// Thread-safety: Start/Stop/destructor from the owning thread; the handler is called from
// many worker threads at once.
// Errors: Start returns kInvalidArgument for a malformed HOST:PORT, kUnavailable when the
// address cannot be bound.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "gateway/http.h"

namespace strata::gateway {

struct HttpServerOptions {
  std::string address;        // HOST:PORT (port 0: any free port, see HttpServer::port())
  int threads = 32;           // --threads: connections served at once (keep-alive holds one)
  int read_timeout_s = 60;    // --timeout: a request (headers or a body piece) must arrive within
  int write_timeout_s = 60;   //   this; a reader that stops taking data is dropped after it
  int keep_alive_s = 5;       // --keep-alive: an idle connection is closed after this (a stop
                              //   waits for idle connections at most this long)
  Status Validate() const;
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Stop();
  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  int port_ = 0;
};

}  // namespace strata::gateway
