#include "cache/peer_tier.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "cache/peer_server.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::cache {

struct PeerTier::Peer {
  std::string host;
  int port = 0;
  std::mutex mu;
  std::vector<int> idle;               // guarded by mu: kept connections
  std::atomic<int64_t> down_until{0};  // monotonic ns; 0 = up
  ~Peer() {
    for (int fd : idle) close(fd);
  }
};

PeerTier::PeerTier(const PeerTierOptions& options, const PeerAuth* auth, Clock* clock)
    : options_(options), auth_(auth), clock_(clock) {}

PeerTier::~PeerTier() = default;

void PeerTier::SetMembers(std::shared_ptr<const HashRing> ring, std::string self,
                          LocalOwner* local) {
  std::lock_guard<std::mutex> l(mu_);
  ring_ = std::move(ring);
  self_ = std::move(self);
  local_ = local;
}

PeerOwner PeerTier::OwnerOf(const std::string& key) const {
  std::shared_ptr<const HashRing> ring;
  std::string self;
  {
    std::lock_guard<std::mutex> l(mu_);
    ring = ring_;
    self = self_;
  }
  PeerOwner o;
  if (!ring) return o;
  const int i = ring->Owner(key);
  if (i < 0) return o;
  o.id = ring->members()[i].id;
  o.self = !self.empty() && o.id == self;
  return o;
}

LocalOwner* PeerTier::Local() const {
  std::lock_guard<std::mutex> l(mu_);
  return local_;
}

std::vector<RingMember> PeerTier::members() const {
  std::lock_guard<std::mutex> l(mu_);
  return ring_ ? ring_->members() : std::vector<RingMember>{};
}

std::shared_ptr<PeerTier::Peer> PeerTier::PeerFor(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& p = peers_[id];
  if (!p) {
    p = std::make_shared<Peer>();
    // Ids come from session records written by members; a malformed one fails its calls.
    Status s = PeerServer::ParseAddress(id, "peer address", &p->host, &p->port);
    if (!s.ok()) p->port = 0;
  }
  return p;
}

bool PeerTier::IsDown(Peer& p) const {
  const int64_t until = p.down_until.load();
  return until != 0 && clock_->MonotonicNanos() < until;
}

void PeerTier::MarkDown(Peer& p, const std::string& id, const Status& why) {
  const int64_t until =
      clock_->MonotonicNanos() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.down_time).count();
  if (p.down_until.exchange(until) == 0) {
    LOG_WARN("cache group: peer {} skipped for {} ms: {}", id, options_.down_time.count(),
             why.ToString());
  }
}

Result<int> PeerTier::Connect(Peer& p, const std::string& id, int64_t deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(p.host.c_str(), std::to_string(p.port).c_str(), &hints, &res) != 0 || !res) {
    return Status::Unavailable("peer " + id + ": cannot resolve " + p.host);
  }
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const int64_t left_ms = (deadline - clock_->MonotonicNanos()) / 1000000;
      rc = left_ms > 0 ? poll(&pfd, 1, static_cast<int>(left_ms)) : 0;
      int err = 0;
      socklen_t n = sizeof(err);
      if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) == 0 && err == 0) {
        rc = 0;
      } else {
        why = rc == 0 ? "connect timed out" : std::strerror(err ? err : errno);
        rc = -1;
      }
    } else if (rc != 0) {
      why = std::strerror(errno);
    }
    if (rc != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::Unavailable("peer " + id + ": " + why);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  wire::TuneSocket(fd, options_.timeout.count());
  return fd;
}

Result<PeerTier::Reply> PeerTier::Call(const std::string& id, wire::Op op, const std::string& key,
                                       uint32_t len, const BlockBuffer* body, bool* bad_crc) {
  std::shared_ptr<Peer> peer = PeerFor(id);
  if (peer->port == 0) return Status::InvalidArgument("bad peer address '" + id + "'");
  const int64_t deadline =
      clock_->MonotonicNanos() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout).count();
  const std::string what = "peer " + id + " " + std::string(wire::OpName(op)) + " " + key;
  auto fail = [&](int fd, const Status& st) -> Status {
    close(fd);
    Status s = Status::Unavailable(what + ": " + std::string(st.message()));
    MarkDown(*peer, id, s);
    return s;
  };
  for (int attempt = 0;; ++attempt) {
    int fd = -1;
    {
      std::lock_guard<std::mutex> l(peer->mu);
      if (attempt == 0 && !peer->idle.empty()) {
        fd = peer->idle.back();
        peer->idle.pop_back();
      }
    }
    const bool reused = fd >= 0;
    if (!reused) {
      auto c = Connect(*peer, id, deadline);
      if (!c.ok()) {
        MarkDown(*peer, id, c.status());
        return c.status();
      }
      fd = *c;
    }
    const std::string nonce = PeerAuth::NewNonce();
    wire::RequestHead req;
    req.op = op;
    req.len = len;
    req.key = key;
    req.auth =
        auth_->SignRequest(wire::OpName(op), key, len, clock_->NowNanos() / 1000000000, nonce);
    if (body) req.crc = Crc32c(*body);
    const std::string head = wire::EncodeRequest(req);
    Status st = wire::SendAll(fd, head.data(), head.size(), clock_, deadline);
    if (st.ok() && body) st = wire::SendAll(fd, body->data(), body->size(), clock_, deadline);
    char rh[wire::kReplyHeadSize];
    size_t got = 0;
    if (st.ok()) st = wire::RecvExact(fd, rh, sizeof(rh), clock_, deadline, &got);
    if (!st.ok()) {
      if (reused && got == 0 && !st.Is(Code::kTimeout)) {
        close(fd);  // the peer closed the kept connection meanwhile: once more on a new one
        continue;
      }
      return fail(fd, st);
    }
    wire::ReplyHead h;
    size_t mac_len = 0;
    st = wire::DecodeReplyHead(rh, &h, &mac_len);
    if (!st.ok()) return fail(fd, st);  // another version: skipped like a dead peer
    Reply reply;
    reply.status = h.status;
    std::string mac(mac_len, '\0');
    // The body lands in its final buffer, not zero-filled first: the block handed to the
    // chain is this buffer (only its received bytes are ever read: a short receive fails).
    reply.body = BlockBuffer::Uninitialized(h.body_len);
    st = wire::RecvExact(fd, mac.data(), mac.size(), clock_, deadline);
    if (st.ok()) {
      st = wire::RecvExact(fd, reply.body.mutable_data(), reply.body.size(), clock_, deadline);
    }
    if (!st.ok()) return fail(fd, st);
    peer->down_until.store(0);
    if (reply.status == 403) {
      close(fd);  // the server closes it too
      return Status(Code::kPermissionDenied,
                    "peer " + id + " refused this member: " + reply.body.ToString());
    }
    if (!auth_->VerifyReply(nonce, reply.status, h.crc, h.body_len, mac)) {
      close(fd);
      return Status::Corruption("peer " + id + " answered without this group's signature");
    }
    const bool crc_ok = Crc32c(reply.body) == h.crc;  // the one pass over a served block
    {
      std::lock_guard<std::mutex> l(peer->mu);
      if (peer->idle.size() < 64) {
        peer->idle.push_back(fd);
        fd = -1;
      }
    }
    if (fd >= 0) close(fd);
    if (!crc_ok) {
      if (bad_crc) *bad_crc = true;
      return Status::Corruption("peer " + id + " sent " + key + " with a bad CRC32C");
    }
    return reply;
  }
}

Result<BlockData> PeerTier::Get(const std::string& key, uint32_t expected_len) {
  const PeerOwner owner = OwnerOf(key);
  if (owner.id.empty()) return Status::NotFound("no cache group members");
  if (owner.self) {
    LocalOwner* local = Local();
    if (!local) return Status::NotFound("not serving");
    owned_++;
    return local->Fetch(key, expected_len);
  }
  std::shared_ptr<Peer> peer = PeerFor(owner.id);
  if (IsDown(*peer)) {
    skipped_++;
    return Status::NotFound("peer " + owner.id + " is down");
  }
  bool bad_crc = false;
  auto r = Call(owner.id, wire::Op::kGet, key, expected_len, nullptr, &bad_crc);
  if (!r.ok()) {
    peer_errors_++;
    // The owner's copy is damaged (its cache file was sent unchecked): make it drop it, so
    // that it fetches a good one from the store next time. Best effort.
    if (bad_crc) (void)Evict(key, expected_len);
    return r.status();
  }
  if (r->status == 404) {
    peer_misses_++;
    return Status::NotFound("peer " + owner.id + " has no " + key);
  }
  if (r->status != 200) {
    peer_errors_++;
    return Status::Unavailable("peer " + owner.id + " answered " + std::to_string(r->status) +
                               ": " + r->body.ToString());
  }
  peer_hits_++;
  peer_bytes_ += r->body.size();
  return BlockBuffer::Share(std::move(r->body));
}

Status PeerTier::Put(const std::string& key, BlockData data) {
  if (!options_.fill_on_write) return Status::OK();
  const PeerOwner owner = OwnerOf(key);
  if (owner.id.empty() || owner.self) return Status::OK();  // local tiers were filled already
  std::shared_ptr<Peer> peer = PeerFor(owner.id);
  if (IsDown(*peer)) return Status::OK();  // best effort
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, wire::Op::kPut, key, static_cast<uint32_t>(data->size()),
                                 data.get()));
  if (r.status != 204) {
    return Status::Unavailable("peer " + owner.id + " did not take " + key + ": " +
                               r.body.ToString());
  }
  fills_sent_++;
  return Status::OK();
}

Result<bool> PeerTier::Cached(const std::string& key, uint32_t len) {
  const PeerOwner owner = OwnerOf(key);
  if (owner.id.empty()) return Status::NotFound("no cache group members");
  if (owner.self) {
    LocalOwner* local = Local();
    return local && local->Cached(key);
  }
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, wire::Op::kCached, key, len, nullptr));
  if (r.status != 200 && r.status != 404) {
    return Status::Unavailable("peer " + owner.id + " answered " + std::to_string(r.status));
  }
  return r.status == 200;
}

Result<bool> PeerTier::Warm(const std::string& key, uint32_t len) {
  ASSIGN_OR_RETURN(bool had, Cached(key, len));
  if (had) return true;
  ASSIGN_OR_RETURN(BlockData d, Get(key, len));
  (void)d;  // the owner holds it now; the bytes are not needed here
  return false;
}

Status PeerTier::Evict(const std::string& key, uint32_t len) {
  const PeerOwner owner = OwnerOf(key);
  if (owner.id.empty()) return Status::OK();
  if (owner.self) {
    LocalOwner* local = Local();
    return local ? local->Evict(key) : Status::OK();
  }
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, wire::Op::kEvict, key, len, nullptr));
  if (r.status != 204) {
    return Status::Unavailable("peer " + owner.id + " answered " + std::to_string(r.status));
  }
  return Status::OK();
}

PeerTierStats PeerTier::stats() const {
  PeerTierStats s;
  s.peer_hits = peer_hits_;
  s.peer_bytes = peer_bytes_;
  s.peer_misses = peer_misses_;
  s.peer_errors = peer_errors_;
  s.skipped = skipped_;
  s.owned_lookups = owned_;
  s.fills_sent = fills_sent_;
  return s;
}

}  // namespace strata::cache
