#include "object/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace strata::object::s3 {
namespace {

struct Transfer {
  HttpResponse* resp;
  bool expect_body;  // false for HEAD: its Content-Length describes a body never sent
};

// The pieces of a request body, handed to curl in order as it asks for more.
struct BodyCursor {
  const std::vector<std::string_view>* parts;
  size_t part = 0;  // the piece being sent
  size_t off = 0;   // bytes of it already handed over
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* c = static_cast<BodyCursor*>(user);
  const size_t room = size * n;
  size_t given = 0;
  while (given < room && c->part < c->parts->size()) {
    std::string_view p = (*c->parts)[c->part];
    size_t take = std::min(room - given, p.size() - c->off);
    std::memcpy(buf + given, p.data() + c->off, take);
    given += take;
    c->off += take;
    if (c->off == p.size()) {
      ++c->part;
      c->off = 0;
    }
  }
  return given;
}

// Receive and send buffer sizes (see the header): large enough that a 4 MiB block takes a
// few callbacks and syscalls, not hundreds.
constexpr long kReceiveBuffer = 512L << 10;
constexpr long kSendBuffer = 1L << 20;

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->resp->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after 100 Continue or a redirect): start over.
    t->resp->headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
    v.remove_suffix(1);
  }
  if (name == "content-length" && t->expect_body) {
    // One allocation for the whole body (4 MiB blocks), capped in case the header lies.
    uint64_t want = std::strtoull(std::string(v).c_str(), nullptr, 10);
    t->resp->body.reserve(std::min<uint64_t>(want, 256ull << 20));
  }
  t->resp->headers[name] = std::string(v);
  return size * n;
}

// "http://host:port" of a URL, for messages (no path, no query).
std::string Origin(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  size_t path = url.find('/', scheme_end + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

Status TransportError(CURLcode rc, CURL* h, const HttpRequest& req, const char* errbuf) {
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  std::string where = req.method + " " + Origin(req.url);
  curl_off_t connect_us = 0;
  curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      if (connect_us == 0) {
        return Status::Unavailable("cannot connect to " + Origin(req.url) + ": " + detail);
      }
      return Status::Timeout(where + " timed out: " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
      return Status::Unavailable("cannot connect to " + Origin(req.url) + ": " + detail);
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Status::Unavailable(where + " failed: " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      return Status::PermissionDenied(where + ": TLS certificate not trusted: " + detail);
    default:
      return Status::IOError(where + " failed: " + detail);
  }
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

Result<std::unique_ptr<HttpClient>> HttpClient::Open(const HttpClientOptions& opts) {
  // Thread-safe since curl 7.84 when built with atomics; the once_flag covers older ones.
  static std::once_flag once;
  static CURLcode init_rc = CURLE_OK;
  std::call_once(once, [] { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_rc != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(init_rc));
  }
  if (opts.max_connections <= 0) return Status::InvalidArgument("max_connections must be > 0");
  return std::unique_ptr<HttpClient>(new HttpClient(opts));
}

HttpClient::~HttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* HttpClient::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || total_ < opts_.max_connections; });
  if (!idle_.empty()) {
    void* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  CURL* h = curl_easy_init();
  if (h) ++total_;
  return h;
}

void HttpClient::Release(void* handle) {
  curl_easy_reset(static_cast<CURL*>(handle));  // keeps the live connection and DNS cache
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(handle);
  }
  cv_.notify_one();
}

Result<HttpResponse> HttpClient::Perform(const HttpRequest& req) {
  CURL* h = static_cast<CURL*>(Acquire());
  if (!h) return Status::Internal("curl_easy_init failed");

  HttpResponse resp;
  Transfer transfer{&resp, req.method != "HEAD"};
  BodyCursor cursor{&req.body_parts};
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = 0;
  curl_slist* headers = nullptr;
  for (const auto& [n, v] : req.headers) {
    std::string line = v.empty() ? n + ";" : n + ": " + v;  // "Name;" sends an empty value
    headers = curl_slist_append(headers, line.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBuffer);
  if (!opts_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    // A POST with a Content-Length, the method overridden for PUT. One body goes as
    // POSTFIELDS; pieces through the read callback. Either way curl copies the bytes once,
    // into its send buffer, on their way to the socket.
    size_t total = req.body.size();
    if (!req.body_parts.empty()) {
      total = 0;
      for (std::string_view p : req.body_parts) total += p.size();
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &cursor);
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(total));
    if (total >= static_cast<size_t>(kSendBuffer)) {
      curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kSendBuffer);
    }
    if (req.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(h);
  Status err;
  if (rc != CURLE_OK) {
    err = TransportError(rc, h, req, errbuf);
  } else {
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    resp.status = static_cast<int>(code);
  }
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // A failed transfer may leave the connection half-used; drop the handle entirely.
    curl_easy_cleanup(h);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --total_;
    }
    cv_.notify_one();
    return err;
  }
  Release(h);
  return resp;
}

}  // namespace strata::object::s3
