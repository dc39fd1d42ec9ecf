// MetricsServer: serves a client's metrics in the Prometheus text format (0.0.4) at
// http://HOST:PORT/metrics (`strata mount --metrics 127.0.0.1:9567`). Anything else is 404.
// HTTP from cpp-httplib (Debian libcpp-httplib-dev): a small, well-kept server whose thread
// pool and keep-alive handling we need not write; only this file's .cc includes it.
//
// Ownership: the server owns its listening thread; `render` is called on that thread for each
// scrape and must stay valid until the server is destroyed (Stop joins the thread).
// Thread-safety: Start/Stop/destructor from the owning thread; `render` must be thread-safe
// (MetricsRegistry::Render is).
// Errors: Start returns kInvalidArgument for a malformed HOST:PORT, kUnavailable when the
// address cannot be bound (in use, not local).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace strata::client {

class MetricsServer {
 public:
  // `address` is HOST:PORT; port 0 picks a free port (see port()).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                      std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  MetricsServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  int port_ = 0;
};

// Splits "HOST:PORT" ("[v6]:PORT" too). kInvalidArgument naming the problem.
Status ParseHostPort(const std::string& address, std::string* host, int* port);

}  // namespace strata::client
