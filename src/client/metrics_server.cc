#include "client/metrics_server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "common/logging.h"

namespace strata::client {

Status ParseHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("--metrics wants HOST:PORT, got '" + address + "'");
  }
  std::string h = address.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = address.substr(colon + 1);
  int value = 0;
  for (char c : p) {
    if (c < '0' || c > '9' || value > 65535) {
      return Status::InvalidArgument("bad port in --metrics '" + address + "'");
    }
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return Status::InvalidArgument("bad port in --metrics '" + address + "'");
  *host = h;
  *port = value;
  return Status::OK();
}

struct MetricsServer::Impl {
  httplib::Server http;
  std::thread thread;
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            std::function<std::string()> render) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  RETURN_IF_ERROR(ParseHostPort(address, &s->host_, &s->port_));
  s->impl_ = std::make_unique<Impl>();
  httplib::Server& http = s->impl_->http;
  // A scrape is one short request: two workers are plenty, and bound the cost of a flood.
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // mount bind the same --metrics port and silently split the scrapes between the two.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (s->port_ == 0) {
    int port = http.bind_to_any_port(s->host_);
    if (port < 0) return Status::Unavailable("cannot listen on " + address + " for --metrics");
    s->port_ = port;
  } else if (!http.bind_to_port(s->host_, s->port_)) {
    return Status::Unavailable("cannot listen on " + address +
                               " for --metrics (in use, or not an address of this machine)");
  }
  s->impl_->thread = std::thread([impl = s->impl_.get()] { impl->http.listen_after_bind(); });
  // stop() only ends a loop that runs: wait for it, so a quick Start/stop cannot hang.
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  LOG_INFO("metrics at http://{}:{}/metrics", s->host_, s->port_);
  return s;
}

MetricsServer::~MetricsServer() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace strata::client
