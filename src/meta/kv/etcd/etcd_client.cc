#include "meta/kv/etcd/etcd_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace strata::kv {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t AppendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// What an error message of the cluster means for the request.
enum class Verdict { kRetryElsewhere, kReauth, kFail };

Verdict Classify(std::string_view msg, int grpc_code, Status* status) {
  if (Contains(msg, "invalid auth token") || Contains(msg, "auth: revision in header is old")) {
    return Verdict::kReauth;
  }
  if (Contains(msg, "required revision has been compacted")) {
    *status = Status::Conflict("etcd: the transaction's revision was compacted away");
    return Verdict::kFail;
  }
  if (Contains(msg, "authentication failed") || Contains(msg, "permission denied") ||
      Contains(msg, "user name is empty") || Contains(msg, "user name not found")) {
    *status = Status::PermissionDenied("etcd: " + std::string(msg));
    return Verdict::kFail;
  }
  if (Contains(msg, "too many operations in txn request")) {
    *status = Status::InvalidArgument(
        "etcd: a transaction has more operations than the cluster's --max-txn-ops allows "
        "(raise it, e.g. --max-txn-ops 10000): " +
        std::string(msg));
    return Verdict::kFail;
  }
  if (Contains(msg, "request is too large")) {
    *status = Status::InvalidArgument(
        "etcd: a transaction is larger than the cluster's --max-request-bytes: " +
        std::string(msg));
    return Verdict::kFail;
  }
  // gRPC Unavailable (14), DeadlineExceeded (4), ResourceExhausted (8, too many requests),
  // and the messages of a member without a leader or shutting down.
  if (grpc_code == 14 || grpc_code == 4 || grpc_code == 8 || Contains(msg, "no leader") ||
      Contains(msg, "timed out") || Contains(msg, "leader changed") ||
      Contains(msg, "server stopped") || Contains(msg, "not capable") ||
      Contains(msg, "too many requests") || Contains(msg, "unhealthy cluster")) {
    *status = Status::Unavailable("etcd: " + std::string(msg));
    return Verdict::kRetryElsewhere;
  }
  *status = Status::IOError("etcd: " + std::string(msg));
  return Verdict::kFail;
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      return Status::IOError("etcd: bad base64 in a reply");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Status EtcdKvOptions::Validate() const {
  if (endpoints.empty()) return Status::InvalidArgument("etcd: no endpoints");
  if (connect_timeout_ms < 1 || io_timeout_ms < 1 || open_timeout_ms < 1) {
    return Status::InvalidArgument("etcd: timeouts must be >= 1 ms");
  }
  if (!cert_file.empty() && key_file.empty()) {
    return Status::InvalidArgument("etcd: cert given without key");
  }
  return Status::OK();
}

struct EtcdClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

EtcdClient::EtcdClient(EtcdKvOptions opts) : opts_(std::move(opts)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}
EtcdClient::~EtcdClient() = default;

std::string EtcdClient::Describe() const {
  std::string s = "etcd://";
  for (size_t i = 0; i < opts_.endpoints.size(); i++) s += (i ? "," : "") + opts_.endpoints[i];
  return s + "/" + opts_.prefix;
}

std::unique_ptr<EtcdClient::Handle> EtcdClient::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  return h;
}

void EtcdClient::ReleaseHandle(std::unique_ptr<Handle> h) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < 64) idle_.push_back(std::move(h));
}

Result<nlohmann::json> EtcdClient::PostOnce(Handle& h, size_t member, const std::string& path,
                                            const std::string& body, int64_t timeout_ms,
                                            bool* retry_elsewhere, bool* sent) {
  *retry_elsewhere = false;
  *sent = false;
  if (h.curl == nullptr) return Status::Internal("etcd: curl_easy_init failed");
  const std::string& ep = opts_.endpoints[member];
  std::string url = (opts_.tls ? "https://" : "http://") + ep + path;
  std::string reply;
  std::string auth;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!token_.empty()) auth = "Authorization: " + token_;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  // No "Expect: 100-continue" for bodies over 1 KiB: it costs a round trip (or a 1 s wait).
  headers = curl_slist_append(headers, "Expect:");
  if (!auth.empty()) headers = curl_slist_append(headers, auth.c_str());
  CURL* c = h.curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(opts_.connect_timeout_ms, timeout_ms)));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  if (opts_.tls) {
    if (!opts_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
    if (!opts_.cert_file.empty()) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, opts_.cert_file.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEY, opts_.key_file.c_str());
    }
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  long request_size = 0;
  curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
  if (rc != CURLE_OK) {
    // A request that went out may have been applied; one refused at connect was not.
    *sent = request_size > 0 && rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST;
    *retry_elsewhere = true;
    return Status::Unavailable("etcd " + ep + ": " + curl_easy_strerror(rc));
  }
  long http = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
  auto j = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *sent = true;
    *retry_elsewhere = http >= 500;
    return Status::IOError("etcd " + ep + ": HTTP " + std::to_string(http) +
                           " with a reply that is not JSON (not an etcd v3 client port?)");
  }
  if (http == 200 && !j.contains("error")) return j;
  *sent = true;
  std::string msg =
      j.value("error", j.value("message", std::string("HTTP ") + std::to_string(http)));
  int code = j.value("code", 0);
  Status s;
  switch (Classify(msg, code, &s)) {
    case Verdict::kReauth: {
      {
        std::lock_guard<std::mutex> lock(mu_);
        token_.clear();
      }
      RETURN_IF_ERROR(Authenticate(h, member, timeout_ms));
      *retry_elsewhere = false;
      return Status::Unavailable("etcd: auth token renewed");  // Post sends it again
    }
    case Verdict::kRetryElsewhere:
      *retry_elsewhere = true;
      return Status(s.code(), "etcd " + ep + ": " + std::string(s.message()));
    case Verdict::kFail:
      return s;
  }
  return s;
}

Status EtcdClient::Authenticate(Handle& h, size_t member, int64_t timeout_ms) {
  if (opts_.user.empty()) return Status::OK();
  nlohmann::json req = {{"name", opts_.user}, {"password", opts_.password}};
  bool retry = false, sent = false;
  auto r = PostOnce(h, member, "/v3/auth/authenticate", req.dump(), timeout_ms, &retry, &sent);
  if (!r.ok()) {
    if (r.status().message().find("authentication is not enabled") != std::string_view::npos) {
      return Status::OK();
    }
    return r.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  token_ = r->value("token", "");
  return Status::OK();
}

Result<nlohmann::json> EtcdClient::Post(const std::string& path, const nlohmann::json& body,
                                        const Deadline& deadline_in, Clock* clock,
                                        bool* maybe_applied) {
  if (clock == nullptr) clock = SystemClock::Get();
  Deadline deadline = deadline_in.is_never()
                          ? Deadline::After(*clock, std::chrono::milliseconds(opts_.io_timeout_ms))
                          : deadline_in;
  const std::string text = body.dump();
  auto h = AcquireHandle();
  const size_t n = opts_.endpoints.size();
  const size_t start = current_.load(std::memory_order_relaxed);
  Status last = Status::Unavailable("etcd: deadline passed before any request");
  bool need_auth = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    need_auth = !opts_.user.empty() && token_.empty();
  }
  for (size_t attempt = 0;; attempt++) {
    int64_t left = deadline.RemainingMillis(*clock, opts_.io_timeout_ms);
    if (left <= 0) break;
    const size_t m = (start + attempt) % n;
    bool retry = false, sent = false;
    Result<nlohmann::json> r = Status::OK();
    if (need_auth) {
      Status a = Authenticate(*h, m, left);
      if (!a.ok()) {
        r = a;
        retry = a.Is(Code::kUnavailable);
      } else {
        need_auth = false;
        r = PostOnce(*h, m, path, text, left, &retry, &sent);
      }
    } else {
      r = PostOnce(*h, m, path, text, left, &retry, &sent);
    }
    if (sent && maybe_applied) *maybe_applied = true;
    if (r.ok()) {
      current_.store(m, std::memory_order_relaxed);
      ReleaseHandle(std::move(h));
      return r;
    }
    last = r.status();
    if (!retry && !last.Is(Code::kUnavailable)) {
      ReleaseHandle(std::move(h));
      return last;
    }
    if (!retry) {
      attempt--;  // a renewed token: the same member again
      continue;
    }
    // Every member refused once: an election is probably running; wait a little.
    if ((attempt + 1) % n == 0) {
      int64_t pause = std::min<int64_t>(100, deadline.RemainingMillis(*clock, 100));
      std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
  }
  ReleaseHandle(std::move(h));
  return Status::Unavailable("etcd: no member of " + Describe() +
                             " answered in time: " + std::string(last.message()));
}

}  // namespace strata::kv
