#include "cache/peer_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/peer_wire.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::cache {

namespace {

constexpr int64_t kIdleNanos = 60LL * 1000000000;     // an idle connection is closed after this
constexpr int64_t kRequestNanos = 30LL * 1000000000;  // a request in, or its reply out
constexpr int64_t kSocketWaitMs = 30000;

}  // namespace

struct PeerServer::Impl {
  const PeerAuth* auth = nullptr;
  PeerBackend* backend = nullptr;
  Clock* clock = nullptr;
  size_t max_conns = 1;
  int listen_fd = -1;
  std::thread acceptor;
  std::atomic<uint64_t> served{0}, served_bytes{0}, misses{0}, errors{0}, denied{0}, filled{0};

  struct Conn {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mu;
  bool stopping = false;                   // guarded by mu
  std::list<std::unique_ptr<Conn>> conns;  // guarded by mu

  int64_t Deadline(int64_t span) const { return clock->MonotonicNanos() + span; }

  // Joins and closes the connections whose thread ended. REQUIRES: mu held.
  void ReapLocked() {
    for (auto it = conns.begin(); it != conns.end();) {
      if (!(*it)->done.load()) {
        ++it;
        continue;
      }
      (*it)->thread.join();
      close((*it)->fd);
      it = conns.erase(it);
    }
  }

  void AcceptLoop() {
    for (;;) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        {
          std::lock_guard<std::mutex> l(mu);
          if (stopping) return;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          LOG_WARN_EVERY("peer server: accept: {}", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        LOG_WARN("peer server: accept failed, no longer serving: {}", std::strerror(errno));
        return;
      }
      std::lock_guard<std::mutex> l(mu);
      ReapLocked();
      if (stopping || conns.size() >= max_conns) {
        LOG_WARN_EVERY("peer server: {} connections open, refusing another", conns.size());
        close(fd);
        continue;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      Conn* conn = c.get();
      conns.push_back(std::move(c));
      conn->thread = std::thread([this, conn] {
        // sendfile(2) has no MSG_NOSIGNAL: an asker that goes away mid-block would raise
        // SIGPIPE, whose default action ends the whole mount. Blocked in this thread, it stays
        // pending here and the call fails with EPIPE instead; drained before the thread ends.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        ServeConnection(conn->fd);
        const timespec now{0, 0};
        while (sigtimedwait(&pipe, nullptr, &now) == SIGPIPE) {
        }
        // The fd is closed by whoever joins this thread (a Stop may be shutting it down now);
        // the peer learns at once that the connection is over.
        shutdown(conn->fd, SHUT_RDWR);
        conn->done = true;
      });
    }
  }

  // A version 1 member's HTTP request: one HTTP answer it can read and log, then close.
  void RefuseHttp(int fd) {
    const std::string body =
        "this member speaks strata peer protocol " + std::to_string(kPeerProtocolVersion) +
        " (framed TCP, docs/format/peer-protocol.md); the asking mount runs an older version\n";
    const std::string res =
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    denied++;
    LOG_WARN_EVERY("peer request in protocol 1 (HTTP) refused: a member runs an older strata");
    if (!wire::SendAll(fd, res.data(), res.size(), clock, Deadline(kRequestNanos)).ok()) return;
    shutdown(fd, SHUT_WR);
    char sink[4096];  // read what it sent until it closes, so that no reset loses the answer
    const int64_t until = Deadline(1000000000);
    size_t got = 0;
    while (wire::RecvExact(fd, sink, sizeof(sink), clock, until, &got).ok()) {
    }
  }

  // Sends a reply with a small in-memory body. False when the connection failed.
  bool Reply(int fd, const std::string& nonce, uint16_t status, std::string_view body,
             bool sign = true) {
    wire::ReplyHead h;
    h.status = status;
    h.body_len = static_cast<uint32_t>(body.size());
    h.crc = Crc32c(body);
    if (sign) h.mac = auth->SignReply(nonce, status, h.crc, body.size());
    std::string out = wire::EncodeReply(h);
    out.append(body);
    return wire::SendAll(fd, out.data(), out.size(), clock, Deadline(kRequestNanos)).ok();
  }

  void ServeConnection(int fd) {
    wire::TuneSocket(fd, kSocketWaitMs);
    char head[wire::kRequestHeadSize];
    for (;;) {
      if (!wire::RecvExact(fd, head, 4, clock, Deadline(kIdleNanos)).ok()) return;
      if (wire::LooksLikeHttp(std::string_view(head, 4))) return RefuseHttp(fd);
      const int64_t deadline = Deadline(kRequestNanos);
      if (!wire::RecvExact(fd, head + 4, sizeof(head) - 4, clock, deadline).ok()) return;
      wire::RequestHead req;
      size_t auth_len = 0, key_len = 0;
      Status st = wire::DecodeRequestHead(head, &req, &auth_len, &key_len);
      if (!st.ok()) {
        LOG_WARN_EVERY("peer server: {}; connection closed", st.ToString());
        return;
      }
      std::string rest(auth_len + key_len, '\0');
      if (!wire::RecvExact(fd, rest.data(), rest.size(), clock, deadline).ok()) return;
      req.auth = rest.substr(0, auth_len);
      req.key = rest.substr(auth_len);
      if (!Handle(fd, req, deadline)) return;
    }
  }

  // Serves one request; false when the connection is to be closed.
  bool Handle(int fd, wire::RequestHead& req, int64_t deadline) {
    std::string nonce;
    const int64_t now = clock->NowNanos() / 1000000000;
    Status s = auth->VerifyRequest(wire::OpName(req.op), req.key, req.len, req.auth, now, &nonce);
    if (!s.ok()) {
      denied++;
      LOG_WARN_EVERY("peer request refused: {}", s.message());
      Reply(fd, nonce, 403, std::string(s.message()) + "\n", /*sign=*/false);
      return false;  // whatever it sent after the head is not read
    }
    if (!backend->ValidKey(req.key, req.len)) {
      Reply(fd, nonce, 400, "not a block of this volume: " + req.key + "\n");
      return req.op != wire::Op::kPut;  // a PUT's body is still on the wire
    }
    switch (req.op) {
      case wire::Op::kGet:
        return GetBlock(fd, req, nonce);
      case wire::Op::kPut:
        return PutBlock(fd, req, nonce, deadline);
      case wire::Op::kCached:
        return Reply(fd, nonce, backend->Cached(req.key) ? 200 : 404, "");
      case wire::Op::kEvict: {
        Status e = backend->Evict(req.key);
        return Reply(fd, nonce, e.ok() ? 204 : 503, e.ok() ? "" : e.ToString() + "\n");
      }
    }
    return false;
  }

  bool GetBlock(int fd, const wire::RequestHead& req, const std::string& nonce) {
    auto b = backend->Serve(req.key, req.len);
    if (!b.ok()) {
      if (b.status().Is(Code::kNotFound)) {
        misses++;
        return Reply(fd, nonce, 404, "");
      }
      errors++;
      LOG_WARN_EVERY("peer GET {}: {}", req.key, b.status().ToString());
      return Reply(fd, nonce, 503, b.status().ToString() + "\n");
    }
    wire::ReplyHead h;
    h.status = 200;
    h.body_len = req.len;
    h.crc = b->stored.crc;
    h.mac = auth->SignReply(nonce, 200, h.crc, req.len);
    const std::string head = wire::EncodeReply(h);
    const int64_t deadline = Deadline(kRequestNanos);
    // Counted before it goes: the asker may see the whole reply before this thread runs on.
    served++;
    served_bytes += req.len;
    Status st = wire::SendAll(fd, head.data(), head.size(), clock, deadline);
    if (st.ok() && b->data) {
      st = wire::SendAll(fd, b->data->data(), req.len, clock, deadline);
    } else if (st.ok() && b->stored.file->NativeFd() >= 0) {
      st = wire::SendFile(fd, b->stored.file->NativeFd(), req.len, clock, deadline);
    } else if (st.ok()) {  // a file without a descriptor (MemEnv): through a buffer
      auto bytes = b->stored.file->Read(0, req.len);
      st = !bytes.ok()                ? bytes.status()
           : bytes->size() != req.len ? Status::IOError("cache file shorter than its block")
                                      : wire::SendAll(fd, bytes->data(), req.len, clock, deadline);
    }
    if (!st.ok()) {
      served--;
      served_bytes -= req.len;
      LOG_WARN_EVERY("peer GET {}: sending failed: {}", req.key, st.ToString());
      return false;  // the asker sees a cut-off reply and reads from the store
    }
    return true;
  }

  bool PutBlock(int fd, const wire::RequestHead& req, const std::string& nonce, int64_t deadline) {
    BlockBuffer body = BlockBuffer::Uninitialized(req.len);  // every byte received or dropped
    if (!wire::RecvExact(fd, body.mutable_data(), body.size(), clock, deadline).ok()) return false;
    if (Crc32c(body) != req.crc) {
      return Reply(fd, nonce, 400, "body does not match its CRC32C\n");
    }
    Status s = backend->Fill(req.key, BlockBuffer::Share(std::move(body)));
    if (s.ok()) filled++;  // before the reply, so that the asker sees it counted
    return Reply(fd, nonce, s.ok() ? 204 : 503, s.ok() ? "" : s.ToString() + "\n");
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
                                                      int max_connections, const PeerAuth* auth,
                                                      PeerBackend* backend, Clock* clock) {
  std::unique_ptr<PeerServer> s(new PeerServer());
  s->impl_ = std::make_unique<Impl>();
  Impl* impl = s->impl_.get();
  impl->auth = auth;
  impl->backend = backend;
  impl->clock = clock;
  impl->max_conns = static_cast<size_t>(std::max(1, max_connections));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints,
                  &res) != 0 ||
      res == nullptr) {
    return Status::InvalidArgument("--group-listen: cannot resolve '" + host + "'");
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    // SO_REUSEADDR only (never SO_REUSEPORT): two members must never share a port.
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 512) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    return Status::Unavailable("cannot listen on " + where +
                               " for --group-listen (in use, or not an address of this machine)");
  }
  sockaddr_storage bound{};
  socklen_t n = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &n);
  s->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl->listen_fd = fd;
  impl->acceptor = std::thread([impl] { impl->AcceptLoop(); });
  return s;
}

void PeerServer::Stop() {
  if (!impl_ || impl_->listen_fd < 0) return;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->stopping = true;
    shutdown(impl_->listen_fd, SHUT_RDWR);                    // accept returns
    for (auto& c : impl_->conns) shutdown(c->fd, SHUT_RDWR);  // their waits return
  }
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  std::list<std::unique_ptr<Impl::Conn>> conns;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    conns.swap(impl_->conns);
  }
  for (auto& c : conns) {
    c->thread.join();
    close(c->fd);
  }
  close(impl_->listen_fd);
  impl_->listen_fd = -1;
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
