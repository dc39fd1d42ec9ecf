#include "cache/peer_server.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::cache {

struct PeerServer::Impl {
  const PeerAuth* auth = nullptr;
  PeerBackend* backend = nullptr;
  Clock* clock = nullptr;
  httplib::Server http;
  std::thread thread;
  std::atomic<uint64_t> served{0}, served_bytes{0}, misses{0}, errors{0}, denied{0}, filled{0};

  // Parses len and checks the signature and the key. On failure the reply is written and
  // false returned.
  bool Admit(const httplib::Request& req, httplib::Response& res, const std::string& key,
             uint32_t* len, std::string* nonce) {
    uint64_t n = 0;
    const std::string text = req.get_param_value("len");
    bool ok = !text.empty() && text.size() <= 10;
    for (char c : text) ok = ok && c >= '0' && c <= '9';
    if (ok) n = std::stoull(text);
    const int64_t now = clock->NowNanos() / 1000000000;
    Status s = auth->VerifyRequest(req.method, key, n, req.get_header_value(PeerAuth::kRequestHeader),
                                   now, nonce);
    if (!s.ok()) {
      denied++;
      LOG_WARN_EVERY("peer request from {} refused: {}", req.remote_addr, s.message());
      res.status = 403;
      res.set_content(std::string(s.message()) + "\n", "text/plain");
      return false;
    }
    if (!ok || n > UINT32_MAX || !backend->ValidKey(key, static_cast<uint32_t>(n))) {
      Reply(res, *nonce, 400, "not a block of this volume: " + key + "\n");
      return false;
    }
    *len = static_cast<uint32_t>(n);
    return true;
  }

  void Reply(httplib::Response& res, const std::string& nonce, int status, std::string body) {
    const uint32_t crc = Crc32cExtend(0, body);
    res.status = status;
    res.set_header(PeerAuth::kCrcHeader, CrcHex(crc));
    res.set_header(PeerAuth::kReplyHeader, auth->SignReply(nonce, status, crc, body.size()));
    res.set_content(std::move(body), "application/octet-stream");
  }

  void GetBlock(const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.matches[1];
    uint32_t len = 0;
    std::string nonce;
    if (!Admit(req, res, key, &len, &nonce)) return;
    auto data = backend->Fetch(key, len);
    if (data.ok()) {
      served++;
      served_bytes += (*data)->size();
      // One copy into the response: httplib owns its body string.
      Reply(res, nonce, 200, **data);
    } else if (data.status().Is(Code::kNotFound)) {
      misses++;
      Reply(res, nonce, 404, "");
    } else {
      errors++;
      LOG_WARN_EVERY("peer GET {}: {}", key, data.status().ToString());
      Reply(res, nonce, 503, data.status().ToString() + "\n");
    }
  }

  void PutBlock(const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.matches[1];
    uint32_t len = 0;
    std::string nonce;
    if (!Admit(req, res, key, &len, &nonce)) return;
    uint32_t crc = 0;
    if (req.body.size() != len || !ParseCrcHex(req.get_header_value(PeerAuth::kCrcHeader), &crc) ||
        crc != Crc32cExtend(0, req.body)) {
      Reply(res, nonce, 400, "body does not match its length or X-Strata-Crc32c\n");
      return;
    }
    Status s = backend->Fill(key, std::make_shared<const std::string>(req.body));
    if (s.ok()) filled++;
    Reply(res, nonce, s.ok() ? 204 : 503, s.ok() ? "" : s.ToString() + "\n");
  }

  void Cached(const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.matches[1];
    uint32_t len = 0;
    std::string nonce;
    if (!Admit(req, res, key, &len, &nonce)) return;
    Reply(res, nonce, backend->Cached(key) ? 200 : 404, "");
  }

  void Evict(const httplib::Request& req, httplib::Response& res) {
    const std::string key = req.matches[1];
    uint32_t len = 0;
    std::string nonce;
    if (!Admit(req, res, key, &len, &nonce)) return;
    Status s = backend->Evict(key);
    Reply(res, nonce, s.ok() ? 204 : 503, s.ok() ? "" : s.ToString() + "\n");
  }
};

Status PeerServer::ParseAddress(const std::string& address, const std::string& flag,
                                std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument(flag + " wants HOST:PORT, got '" + address + "'");
  }
  std::string h = address.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int value = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9' || value > 65535) {
      return Status::InvalidArgument("bad port in " + flag + " '" + address + "'");
    }
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return Status::InvalidArgument("bad port in " + flag + " '" + address + "'");
  *host = h;
  *port = value;
  return Status::OK();
}

Result<std::unique_ptr<PeerServer>> PeerServer::Start(const std::string& host, int port,
                                                      int threads, const PeerAuth* auth,
                                                      PeerBackend* backend, Clock* clock) {
  std::unique_ptr<PeerServer> s(new PeerServer());
  s->impl_ = std::make_unique<Impl>();
  Impl* impl = s->impl_.get();
  impl->auth = auth;
  impl->backend = backend;
  impl->clock = clock;
  httplib::Server& http = impl->http;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // SO_REUSEADDR only (not httplib's SO_REUSEPORT): two members must never share a port.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  http.set_keep_alive_max_count(100000);
  // An idle keep-alive connection holds a worker until this passes, and stopping the server
  // waits for it (httplib checks for stop only between requests): short, so that unmount is
  // quick; a member reconnects after 2 s of silence, which costs one handshake.
  http.set_keep_alive_timeout(2);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(30, 0);
  http.set_payload_max_length(64ULL << 20);
  const char* kBlock = R"(/v1/block/(.+))";
  http.Get(kBlock, [impl](const httplib::Request& q, httplib::Response& r) { impl->GetBlock(q, r); });
  http.Put(kBlock, [impl](const httplib::Request& q, httplib::Response& r) { impl->PutBlock(q, r); });
  http.Delete(kBlock, [impl](const httplib::Request& q, httplib::Response& r) { impl->Evict(q, r); });
  http.Get(R"(/v1/cached/(.+))",
           [impl](const httplib::Request& q, httplib::Response& r) { impl->Cached(q, r); });
  if (port == 0) {
    const int p = http.bind_to_any_port(host);
    if (p < 0) return Status::Unavailable("cannot listen on " + host + " for --group-listen");
    s->port_ = p;
  } else if (!http.bind_to_port(host, port)) {
    return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) +
                               " for --group-listen (in use, or not an address of this machine)");
  } else {
    s->port_ = port;
  }
  impl->thread = std::thread([impl] { impl->http.listen_after_bind(); });
  for (int i = 0; i < 5000 && !http.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

void PeerServer::Stop() {
  if (!impl_) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

PeerServer::~PeerServer() { Stop(); }

PeerServerStats PeerServer::stats() const {
  PeerServerStats s;
  if (!impl_) return s;
  s.served = impl_->served;
  s.served_bytes = impl_->served_bytes;
  s.misses = impl_->misses;
  s.errors = impl_->errors;
  s.denied = impl_->denied;
  s.filled = impl_->filled;
  return s;
}

}  // namespace strata::cache
