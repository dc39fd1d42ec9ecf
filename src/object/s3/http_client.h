// HttpClient: blocking HTTP/1.1 requests over libcurl with connection reuse.
//
// A pool of curl easy handles, each keeping its own live connection(s); a request borrows one,
// so concurrent callers use separate connections and sequential calls reuse warm ones. At most
// max_connections handles exist; further callers wait for one to be returned.
//
// Timeouts are bounded: connect_timeout_ms for the TCP/TLS connect, request_timeout_ms for the
// whole request. An unreachable endpoint therefore fails in bounded time, never hangs.
//
// Errors: only transport failures are errors here, and they name the endpoint:
// kUnavailable when no connection could be made or it broke (refused, unresolvable, connect
// timeout, reset, TLS handshake failure) — a retry may help; kTimeout when a connected request
// exceeded request_timeout_ms; kIOError otherwise. Any HTTP status, 4xx/5xx included, is a
// successful Perform(); the caller interprets it.
//
// Buffers: curl is asked for a 512 KiB receive buffer (its default, 16 KiB, costs a callback
// and a recv per 16 KiB of a 4 MiB block; libcurl 7.88 sizes a handle's receive buffer at its
// first transfer and ignores the request on the reused handle, which then reads 16 KiB at a
// time from that buffer), and bodies of 1 MiB or more go through a 1 MiB send buffer (default
// 64 KiB), which curl honours on every request.
//
// Thread-safety: Perform() may be called from many threads at once.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace strata::object::s3 {

struct HttpRequest {
  std::string method;  // GET HEAD PUT POST DELETE
  std::string url;     // fully encoded
  std::vector<std::pair<std::string, std::string>> headers;
  // The body: `body`, or when body_parts is not empty, its pieces sent back to back (a block's
  // payload and trailer go out without a joined copy). Both must outlive Perform().
  std::string_view body;
  std::vector<std::string_view> body_parts;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; the last value wins
  std::string body;
  // The header's value or "".
  std::string Header(const std::string& lower_name) const;
};

struct HttpClientOptions {
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 60000;
  int max_connections = 64;
  std::string ca_file;  // CA bundle for TLS; "" for the system default
};

class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> Open(const HttpClientOptions& opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> Perform(const HttpRequest& req);

 private:
  explicit HttpClient(const HttpClientOptions& opts) : opts_(opts) {}
  void* Acquire();
  void Release(void* handle);

  const HttpClientOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<void*> idle_;  // CURL* handles, warm connections inside
  int total_ = 0;            // handles in existence (idle + borrowed)
};

}  // namespace strata::object::s3
