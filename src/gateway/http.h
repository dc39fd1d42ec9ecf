// Plain HTTP request/response types between the HTTP library adapter (http_server.h) and the
// S3 handlers: no library type crosses this line, so the handlers are testable without a
// socket and the library can be replaced in one file.
//
// Thread-safety: one request and its response belong to the worker thread handling them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::gateway {

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;     // "GET", "PUT", ... ("HEAD" too)
  std::string path;       // percent-decoded path ("/bucket/a key"); '+' stays '+'
  std::string raw_query;  // what followed '?', as sent
  Pairs query;            // raw_query split and percent-decoded, in order sent
  Pairs headers;          // names lower-case, in order received
  std::string remote;     // peer address (logs)
  // Delivers the body in pieces to fn (false from fn stops early); returns false when the
  // connection failed or fn stopped. Call at most once; an unread body is drained by the adapter.
  std::function<bool(const std::function<bool(std::string_view)>& fn)> read_body;

  // The value of a header (several joined by ","); "" when absent.
  std::string Header(std::string_view lower_name) const;
  bool HasHeader(std::string_view lower_name) const;
  std::string Query(std::string_view name) const;  // "" when absent
  bool HasQuery(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  Pairs headers;
  std::string content_type = "application/xml";
  std::string body;
  // A streamed body instead of `body`: `stream_length` bytes, produced in order by
  // produce(offset, max, out) (false: stop, the connection is closed); release() runs once the
  // response is done, whatever happened.
  uint64_t stream_length = 0;
  std::function<bool(uint64_t offset, size_t max, std::string* out)> produce;
  std::function<void()> release;
  void Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

using HttpHandler = std::function<void(HttpRequest& req, HttpResponse& res)>;

// Percent-decoding of a URL component (no '+' conversion: S3 clients send %20 for spaces).
std::string PercentDecode(std::string_view s);
// "a=1&b&c=%20" -> {{"a","1"},{"b",""},{"c"," "}}.
Pairs SplitQuery(std::string_view raw);

}  // namespace strata::gateway
