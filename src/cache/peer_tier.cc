#include "cache/peer_tier.h"

#include <httplib.h>

#include "cache/peer_server.h"
#include "common/crc32c.h"
#include "common/logging.h"

namespace strata::cache {

struct PeerTier::Peer {
  std::string host;
  int port = 0;
  std::mutex mu;
  std::vector<std::unique_ptr<httplib::Client>> idle;  // guarded by mu: keep-alive connections
  std::atomic<int64_t> down_until{0};                  // monotonic ns; 0 = up
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

Result<PeerTier::Reply> PeerTier::Call(const std::string& id, const std::string& method,
                                       const std::string& path, const std::string& key,
                                       uint64_t len, const std::string* body) {
  std::shared_ptr<Peer> peer = PeerFor(id);
  if (peer->port == 0) return Status::InvalidArgument("bad peer address '" + id + "'");
  std::unique_ptr<httplib::Client> cli;
  {
    std::lock_guard<std::mutex> l(peer->mu);
    if (!peer->idle.empty()) {
      cli = std::move(peer->idle.back());
      peer->idle.pop_back();
    }
  }
  const auto t = options_.timeout;
  const time_t sec = static_cast<time_t>(t.count() / 1000);
  const time_t usec = static_cast<time_t>((t.count() % 1000) * 1000);
  if (!cli) {
    cli = std::make_unique<httplib::Client>(peer->host, peer->port);
    cli->set_keep_alive(true);
    cli->set_tcp_nodelay(true);
    cli->set_connection_timeout(sec, usec);
    cli->set_read_timeout(sec, usec);
    cli->set_write_timeout(sec, usec);
  }
  const std::string nonce = PeerAuth::NewNonce();
  httplib::Headers headers = {
      {PeerAuth::kRequestHeader,
       auth_->SignRequest(method, key, len, clock_->NowNanos() / 1000000000, nonce)}};
  const int64_t deadline =
      clock_->MonotonicNanos() + std::chrono::duration_cast<std::chrono::nanoseconds>(t).count();
  Reply reply;
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    reply.body.reserve(len);
    res = cli->Get(path, headers, [&](const char* data, size_t n) {
      reply.body.append(data, n);
      return clock_->MonotonicNanos() < deadline;  // a slow peer is cut off
    });
  } else if (method == "PUT") {
    headers.emplace(PeerAuth::kCrcHeader, CrcHex(Crc32cExtend(0, *body)));
    res = cli->Put(path, headers, *body, "application/octet-stream");
    if (res) reply.body = res->body;
  } else {
    res = cli->Delete(path, headers);
    if (res) reply.body = res->body;
  }
  if (!res) {
    Status s = Status::Unavailable("peer " + id + " " + method + " " + key + ": " +
                                   httplib::to_string(res.error()));
    MarkDown(*peer, id, s);
    return s;
  }
  peer->down_until.store(0);
  reply.status = res->status;
  if (reply.status == 403) {
    return Status(Code::kPermissionDenied, "peer " + id + " refused this member: " + reply.body);
  }
  uint32_t crc = 0;
  if (!ParseCrcHex(res->get_header_value(PeerAuth::kCrcHeader), &crc) ||
      !auth_->VerifyReply(nonce, reply.status, crc, reply.body.size(),
                          res->get_header_value(PeerAuth::kReplyHeader))) {
    return Status::Corruption("peer " + id + " answered without this group's signature");
  }
  if (Crc32cExtend(0, reply.body) != crc) {
    return Status::Corruption("peer " + id + " sent " + key + " with a bad CRC32C");
  }
  {
    std::lock_guard<std::mutex> l(peer->mu);
    if (peer->idle.size() < 64) peer->idle.push_back(std::move(cli));
  }
  return reply;
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
  const std::string path = "/v1/block/" + key + "?len=" + std::to_string(expected_len);
  auto r = Call(owner.id, "GET", path, key, expected_len, nullptr);
  if (!r.ok()) {
    peer_errors_++;
    return r.status();
  }
  if (r->status == 404) {
    peer_misses_++;
    return Status::NotFound("peer " + owner.id + " has no " + key);
  }
  if (r->status != 200) {
    peer_errors_++;
    return Status::Unavailable("peer " + owner.id + " answered " + std::to_string(r->status) +
                               ": " + r->body);
  }
  peer_hits_++;
  peer_bytes_ += r->body.size();
  return std::make_shared<const std::string>(std::move(r->body));
}

Status PeerTier::Put(const std::string& key, BlockData data) {
  if (!options_.fill_on_write) return Status::OK();
  const PeerOwner owner = OwnerOf(key);
  if (owner.id.empty() || owner.self) return Status::OK();  // local tiers were filled already
  std::shared_ptr<Peer> peer = PeerFor(owner.id);
  if (IsDown(*peer)) return Status::OK();  // best effort
  const std::string path = "/v1/block/" + key + "?len=" + std::to_string(data->size());
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, "PUT", path, key, data->size(), data.get()));
  if (r.status != 204) {
    return Status::Unavailable("peer " + owner.id + " did not take " + key + ": " + r.body);
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
  const std::string path = "/v1/cached/" + key + "?len=" + std::to_string(len);
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, "GET", path, key, len, nullptr));
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
  const std::string path = "/v1/block/" + key + "?len=" + std::to_string(len);
  ASSIGN_OR_RETURN(Reply r, Call(owner.id, "DELETE", path, key, len, nullptr));
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
