#include "gateway/http_server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "client/metrics_server.h"
#include "common/logging.h"

namespace strata::gateway {

Status HttpServerOptions::Validate() const {
  if (threads < 1 || threads > 4096) return Status::InvalidArgument("--threads must be 1..4096");
  if (read_timeout_s < 1 || write_timeout_s < 1 || keep_alive_s < 1) {
    return Status::InvalidArgument("--timeout must be at least 1 second");
  }
  return Status::OK();
}

struct HttpServer::Impl {
  httplib::Server http;
  std::thread thread;
  HttpHandler handler;
};

namespace {

// Pieces of a streamed response body, so one huge GET never holds more than this in memory.
constexpr size_t kStreamPiece = 1 << 20;

HttpRequest Convert(const httplib::Request& in) {
  HttpRequest r;
  r.method = in.method;
  r.path = in.path;  // httplib percent-decodes the path (without '+' conversion)
  size_t q = in.target.find('?');
  if (q != std::string::npos) r.raw_query = in.target.substr(q + 1);
  r.query = SplitQuery(r.raw_query);
  for (const auto& [n, v] : in.headers) {
    std::string lower = n;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // httplib adds these for its own bookkeeping; they were not sent by the client.
    if (lower == "remote_addr" || lower == "remote_port" || lower == "local_addr" ||
        lower == "local_port") {
      continue;
    }
    r.headers.emplace_back(std::move(lower), v);
  }
  r.remote = in.remote_addr;
  return r;
}

void Reply(const HttpResponse& out, httplib::Response& res, bool head) {
  res.status = out.status;
  for (const auto& [n, v] : out.headers) res.set_header(n, v);
  if (out.produce && out.stream_length > 0) {
    auto produce = out.produce;
    res.set_content_provider(
        out.stream_length, out.content_type,
        [produce](size_t offset, size_t length, httplib::DataSink& sink) {
          std::string buf;
          if (!produce(offset, std::min(length, kStreamPiece), &buf) || buf.empty()) return false;
          return sink.write(buf.data(), buf.size());
        },
        [release = out.release](bool) {
          if (release) release();
        });
    return;
  }
  if (out.release) out.release();
  (void)head;
  res.set_content(out.body, out.content_type);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      HttpHandler handler) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<HttpServer> s(new HttpServer());
  RETURN_IF_ERROR(client::ParseHostPort(options.address, &s->host_, &s->port_));
  s->impl_ = std::make_unique<Impl>();
  s->impl_->handler = std::move(handler);
  httplib::Server& http = s->impl_->http;
  const int threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT: two gateways would share a port).
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  http.set_read_timeout(options.read_timeout_s, 0);
  http.set_write_timeout(options.write_timeout_s, 0);
  http.set_keep_alive_timeout(options.keep_alive_s);
  http.set_keep_alive_max_count(100000);
  http.set_tcp_nodelay(true);
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr) {
    res.status = 500;
    res.set_content(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again.</Message></Error>",
        "application/xml");
  });
  HttpHandler* h = &s->impl_->handler;
  // One pattern that matches every path, newlines included ('.' would not).
  const std::string any = "[\\s\\S]*";
  auto plain = [h](const httplib::Request& in, httplib::Response& res) {
    // S3 ranges are ours (InvalidRange, conditional requests); httplib must not apply them
    // again to the body we produce. The request object is not const in httplib itself.
    const_cast<httplib::Request&>(in).ranges.clear();
    HttpRequest r = Convert(in);
    r.read_body = [](const std::function<bool(std::string_view)>&) { return true; };
    HttpResponse out;
    (*h)(r, out);
    Reply(out, res, in.method == "HEAD");
  };
  auto with_body = [h](const httplib::Request& in, httplib::Response& res,
                       const httplib::ContentReader& reader) {
    const_cast<httplib::Request&>(in).ranges.clear();
    HttpRequest r = Convert(in);
    bool read = false;
    r.read_body = [&](const std::function<bool(std::string_view)>& fn) {
      read = true;
      return reader([&](const char* data, size_t n) { return fn(std::string_view(data, n)); });
    };
    HttpResponse out;
    (*h)(r, out);
    // A body the handler did not want (a refused request) is read and dropped, so the next
    // request on this keep-alive connection starts where the client thinks it does.
    if (!read) reader([](const char*, size_t) { return true; });
    Reply(out, res, false);
  };
  http.Get(any, plain);  // GET and HEAD
  http.Put(any, with_body);
  http.Post(any, with_body);
  http.Delete(any, with_body);
  http.Options(any, plain);
  if (s->port_ == 0) {
    int port = http.bind_to_any_port(s->host_);
    if (port < 0) return Status::Unavailable("cannot listen on " + options.address);
    s->port_ = port;
  } else if (!http.bind_to_port(s->host_, s->port_)) {
    return Status::Unavailable("cannot listen on " + options.address +
                               " (in use, or not an address of this machine)");
  }
  s->impl_->thread = std::thread([impl = s->impl_.get()] { impl->http.listen_after_bind(); });
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

void HttpServer::Stop() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace strata::gateway
