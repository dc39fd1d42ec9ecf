#include "cache/cache_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/logging.h"

namespace strata::cache {

Status CacheGroupOptions::Validate() const {
  if (!enabled()) {
    if (!listen.empty()) return Status::InvalidArgument("--group-listen needs --cache-group");
    if (!sharing) return Status::InvalidArgument("--no-sharing needs --cache-group");
    if (fill_on_write) return Status::InvalidArgument("--fill-group-on-write needs --cache-group");
    return Status::OK();
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return Status::InvalidArgument("--cache-group NAME may hold letters, digits, '-', '_', '.'");
    }
  }
  if (name.size() > 64) return Status::InvalidArgument("--cache-group NAME is too long (max 64)");
  if (!listen.empty()) {
    std::string host;
    int port = 0;
    RETURN_IF_ERROR(PeerServer::ParseAddress(listen, "--group-listen", &host, &port));
  }
  if (timeout.count() < 10) return Status::InvalidArgument("--group-timeout must be >= 0.01 s");
  if (refresh.count() < 10) return Status::InvalidArgument("group refresh must be >= 10 ms");
  if (max_connections < 1) return Status::InvalidArgument("group max connections must be >= 1");
  return Status::OK();
}

std::string CacheGroup::PrimaryAddress() {
  // A UDP "connect" sends nothing; it only asks the kernel which source address it would
  // route from.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "127.0.0.1";
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  inet_pton(AF_INET, "192.0.2.1", &to.sin_addr);  // TEST-NET-1: never actually reached
  std::string out = "127.0.0.1";
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
    sockaddr_in me{};
    socklen_t n = sizeof(me);
    char buf[INET_ADDRSTRLEN];
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&me), &n) == 0 &&
        inet_ntop(AF_INET, &me.sin_addr, buf, sizeof(buf)) != nullptr &&
        me.sin_addr.s_addr != htonl(INADDR_ANY)) {
      out = buf;
    }
  }
  close(fd);
  return out;
}

CacheGroup::CacheGroup(const CacheGroupOptions& options, std::string secret, Clock* clock)
    : options_(options), clock_(clock), auth_(std::move(secret)) {
  PeerTierOptions to;
  to.timeout = options.timeout;
  to.down_time = options.down_time;
  to.fill_on_write = options.fill_on_write;
  tier_ = std::make_unique<PeerTier>(to, &auth_, clock_);
}

Result<std::unique_ptr<CacheGroup>> CacheGroup::Open(const CacheGroupOptions& options,
                                                     std::string secret, Clock* clock) {
  RETURN_IF_ERROR(options.Validate());
  if (!options.enabled()) return Status::InvalidArgument("no --cache-group given");
  return std::unique_ptr<CacheGroup>(new CacheGroup(options, std::move(secret), clock));
}

CacheGroup::~CacheGroup() { Stop(); }

Result<std::string> CacheGroup::Serve(std::vector<BlockTier*> local, BlockTier* store,
                                      LocalOwner::KeyCheck valid, uint64_t weight) {
  if (!options_.sharing) return std::string();
  ASSIGN_OR_RETURN(local_, LocalOwner::Open(std::move(local), store, std::move(valid)));
  std::string host;
  int port = 0;
  if (options_.listen.empty()) {
    host = PrimaryAddress();
  } else {
    RETURN_IF_ERROR(PeerServer::ParseAddress(options_.listen, "--group-listen", &host, &port));
  }
  ASSIGN_OR_RETURN(server_, PeerServer::Start(host, port, options_.max_connections, &auth_,
                                              local_.get(), clock_));
  // What the others dial: a wildcard listen address is published as the primary address.
  std::string shown = host;
  if (shown == "0.0.0.0" || shown == "::" || shown.empty()) shown = PrimaryAddress();
  if (shown.find(':') != std::string::npos) shown = "[" + shown + "]";
  address_ = shown + ":" + std::to_string(server_->port());
  {
    std::lock_guard<std::mutex> l(mu_);
    current_ = {RingMember{address_, weight}};
  }
  // Until membership is read, this member is the whole ring: its own blocks are its own.
  tier_->SetMembers(std::make_shared<HashRing>(std::vector<RingMember>{{address_, weight}}),
                    address_, local_.get());
  LOG_INFO("cache group {}: serving at {} (cache weight {} bytes)", options_.name, address_,
           weight);
  return address_;
}

void CacheGroup::StartMembership(ListMembers list) {
  list_ = std::move(list);
  Refresh();
  thread_ = std::thread([this] { Loop(); });
}

void CacheGroup::Refresh() {
  auto listed = list_();
  if (!listed.ok()) {
    LOG_WARN_EVERY("cache group {}: reading members failed (keeping the last ring): {}",
                   options_.name, listed.status().ToString());
    return;
  }
  std::vector<RingMember> members = std::move(*listed);
  std::sort(members.begin(), members.end(),
            [](const RingMember& a, const RingMember& b) { return a.id < b.id; });
  {
    std::lock_guard<std::mutex> l(mu_);
    if (members == current_) return;
    current_ = members;
  }
  LOG_INFO("cache group {}: {} member(s)", options_.name, members.size());
  tier_->SetMembers(std::make_shared<HashRing>(std::move(members)), address_, local_.get());
}

void CacheGroup::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    clock_->WaitFor(l, cv_, options_.refresh, [this] { return stop_; });
    if (stop_) break;
    l.unlock();
    Refresh();
    l.lock();
  }
}

void CacheGroup::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (server_) server_->Stop();
  tier_->SetMembers(nullptr, "", nullptr);
}

CacheGroupStats CacheGroup::stats() const {
  CacheGroupStats s;
  s.name = options_.name;
  s.address = address_;
  s.members = tier_->members();
  s.tier = tier_->stats();
  if (server_) s.server = server_->stats();
  return s;
}

}  // namespace strata::cache
