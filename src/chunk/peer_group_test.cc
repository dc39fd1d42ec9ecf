// The cache group's peer tier and server over real parts: each member has a memory tier and
// a store tier over one shared MemStore (behind a FaultyStore adding latency, and a
// MetricsStore counting GETs), a CacheGroup serving on 127.0.0.1, and a ring of the members
// (in a mount the ring comes from the session records; here from a list the test keeps).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/cache_group.h"
#include "cache/disk_tier.h"
#include "cache/memory_tier.h"
#include "cache/peer_wire.h"
#include "cache/tier_chain.h"
#include "chunk/block_key.h"
#include "chunk/store_tier.h"
#include "common/mem_env.h"
#include "common/posix_env.h"
#include "object/faulty_store.h"
#include "object/mem_store.h"
#include "object/metrics_store.h"

namespace strata::chunk {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPrefix = "v/";

struct Roster {
  std::mutex mu;
  std::vector<cache::RingMember> members;
  cache::CacheGroup::ListMembers List() {
    return [this]() -> Result<std::vector<cache::RingMember>> {
      std::lock_guard<std::mutex> l(mu);
      return members;
    };
  }
};

struct Member {
  std::shared_ptr<object::MetricsStore> metrics;
  std::unique_ptr<StoreTier> store;
  std::unique_ptr<cache::MemoryTier> memory;
  std::unique_ptr<cache::DiskTier> disk;  // only with a cache directory
  std::unique_ptr<cache::CacheGroup> group;

  uint64_t gets() const { return metrics->Snapshot(object::StoreOp::kGet).calls; }
};

std::unique_ptr<Member> NewMember(std::shared_ptr<object::ObjectStore> bucket,
                                  const std::string& secret, Roster* roster, bool sharing = true,
                                  std::chrono::milliseconds timeout = 2000ms,
                                  Env* disk_env = nullptr, const std::string& disk_dir = "",
                                  bool fill_on_write = false) {
  auto m = std::make_unique<Member>();
  object::FaultyStore::Options fo;
  fo.latency = 200ms;  // long enough for concurrent requests to overlap
  std::shared_ptr<object::ObjectStore> slow = object::FaultyStore::Open(bucket, fo);
  m->metrics = object::MetricsStore::Open(slow);
  m->store = std::make_unique<StoreTier>(m->metrics, Compression::kNone);
  m->memory = std::make_unique<cache::MemoryTier>(64 << 20);
  cache::CacheGroupOptions go;
  go.name = "g";
  go.listen = "127.0.0.1:0";
  go.sharing = sharing;
  go.timeout = timeout;
  go.refresh = 20ms;
  go.fill_on_write = fill_on_write;
  auto group = cache::CacheGroup::Open(go, secret, SystemClock::Get());
  EXPECT_TRUE(group.ok()) << group.status().ToString();
  m->group = std::move(*group);
  auto valid = [](const std::string& key, uint32_t len) {
    auto p = ParseBlockKey(kPrefix, key);
    return p.ok() && p->len == len;
  };
  std::vector<cache::BlockTier*> local = {m->memory.get()};
  if (disk_env) {
    // Disk only: the owner's copy is its cache file, sent as it is stored.
    auto disk = cache::DiskTier::Open(disk_env, disk_dir, 64 << 20, 0);
    EXPECT_TRUE(disk.ok()) << disk.status().ToString();
    m->disk = std::move(*disk);
    local = {m->disk.get()};
  }
  auto addr = m->group->Serve(local, m->store.get(), valid, 1ULL << 30);
  EXPECT_TRUE(addr.ok()) << addr.status().ToString();
  if (sharing) {
    std::lock_guard<std::mutex> l(roster->mu);
    roster->members.push_back({*addr, 1ULL << 30});
  }
  return m;
}

// Stores `plain` as block 0 of slice `id` through a store tier; returns its key.
std::string StoreBlock(std::shared_ptr<object::ObjectStore> bucket, uint64_t id,
                       const std::string& plain) {
  StoreTier tier(bucket, Compression::kNone);
  cache::TierChainOptions co;
  co.tiers = {&tier};
  co.write_target = &tier;
  auto chain = cache::TierChain::Open(co);
  EXPECT_TRUE(chain.ok());
  const std::string key = BlockKey(kPrefix, id, 0, static_cast<uint32_t>(plain.size()));
  EXPECT_TRUE((*chain)->Write(key, plain, false, false).ok());
  return key;
}

class PeerGroupTest : public ::testing::Test {
 protected:
  std::shared_ptr<object::ObjectStore> bucket_ = object::MemStore::Open();
  Roster roster_;
  const std::string secret_ = cache::DerivePeerSecret("uuid-1", "v", "", "g");

  void StartMembership(std::vector<Member*> ms) {
    for (Member* m : ms) m->group->StartMembership(roster_.List());
  }
  // A key of a new slice that `owner` owns on the current ring.
  std::string KeyOwnedBy(Member& owner, const std::string& plain, uint64_t* id) {
    for (*id = 100;; ++*id) {
      const std::string key = BlockKey(kPrefix, *id, 0, static_cast<uint32_t>(plain.size()));
      if (owner.group->tier()->OwnerOf(key).self) return StoreBlock(bucket_, *id, plain);
    }
  }
};

TEST_F(PeerGroupTest, ManyMembersAskingAtOnceCostOneStoreGet) {
  auto a = NewMember(bucket_, secret_, &roster_);
  auto b = NewMember(bucket_, secret_, &roster_);
  auto c = NewMember(bucket_, secret_, &roster_);
  StartMembership({a.get(), b.get(), c.get()});
  const std::string plain(1 << 20, 'x');
  uint64_t id = 0;
  const std::string key = KeyOwnedBy(*a, plain, &id);
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int i = 0; i < 16; ++i) {
    Member* m = i % 3 == 0 ? a.get() : i % 3 == 1 ? b.get() : c.get();  // the owner too
    readers.emplace_back([&, m] {
      auto d = m->group->tier()->Get(key, plain.size());
      if (d.ok() && **d == plain) good++;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(good.load(), 16);
  EXPECT_EQ(a->gets(), 1u);  // the owner fetched it once
  EXPECT_EQ(b->gets() + c->gets(), 0u);
  EXPECT_TRUE(a->memory->Contains(key));  // and keeps it
  EXPECT_GE(b->group->stats().tier.peer_hits + c->group->stats().tier.peer_hits, 1u);
}

TEST_F(PeerGroupTest, AMemberWithAnotherSecretIsRefused) {
  auto a = NewMember(bucket_, secret_, &roster_);
  // Another volume's mount that found a's address: its ring holds a.
  auto x = NewMember(bucket_, cache::DerivePeerSecret("uuid-2", "w", "", "g"), &roster_,
                     /*sharing=*/false);
  StartMembership({a.get(), x.get()});
  const std::string plain(4096, 'y');
  uint64_t id = 0;
  const std::string key = KeyOwnedBy(*a, plain, &id);
  auto d = x->group->tier()->Get(key, plain.size());
  EXPECT_EQ(d.status().code(), Code::kPermissionDenied) << d.status().ToString();
  EXPECT_EQ(a->group->stats().server.denied, 1u);
  EXPECT_EQ(a->gets(), 0u);  // nothing was fetched for it
  // A key outside the volume's block namespace is refused too (400 -> an error, not a hit).
  auto y = NewMember(bucket_, secret_, &roster_, /*sharing=*/false);
  y->group->StartMembership(roster_.List());
  EXPECT_FALSE(y->group->tier()->Get("v/../../etc/passwd", 10).ok());
}

TEST_F(PeerGroupTest, APeerThatNeverAnswersIsSkippedWithinTheTimeout) {
  // A socket that listens but never accepts: connections complete in the kernel's backlog
  // and then hear nothing, as with a stopped (SIGSTOP) or overloaded member.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t n = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &n);
  roster_.members.push_back({"127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), 1ULL << 30});
  auto b = NewMember(bucket_, secret_, &roster_, /*sharing=*/false, /*timeout=*/300ms);
  b->group->StartMembership(roster_.List());
  const std::string plain(4096, 'z');
  const std::string key = StoreBlock(bucket_, 7, plain);
  const auto start = std::chrono::steady_clock::now();
  auto d = b->group->tier()->Get(key, plain.size());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(d.status().code(), Code::kUnavailable) << d.status().ToString();
  EXPECT_LT(took, 10s);  // a hang guard: bounded by the timeout, not by the socket
  // Marked down: the next lookup is a miss at once (the chain goes to the store).
  auto again = b->group->tier()->Get(key, plain.size());
  EXPECT_EQ(again.status().code(), Code::kNotFound);
  EXPECT_EQ(b->group->stats().tier.skipped, 1u);
  close(fd);
}

// Listens on 127.0.0.1 (a free port); the fd and the "127.0.0.1:PORT" address.
int Listen(std::string* address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 16) != 0) {
    return -1;
  }
  socklen_t n = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &n);
  *address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  return fd;
}

// Connects to "127.0.0.1:PORT"; -1 on failure.
int Dial(const std::string& address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1))));
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  return fd;
}

TEST_F(PeerGroupTest, ADiskCacheFileIsSentAsStoredAndAFileFailingItsCrcIsDroppedAtTheOwner) {
  char tmpl[] = "/tmp/strata-peer-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  PosixEnv env;
  auto a = NewMember(bucket_, secret_, &roster_, true, 2000ms, &env, dir);
  auto c = NewMember(bucket_, secret_, &roster_, /*sharing=*/false);
  StartMembership({a.get(), c.get()});
  std::string plain(3 << 20, '\0');
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<char>(i * 131 + (i >> 12));
  uint64_t id = 0;
  const std::string key = KeyOwnedBy(*a, plain, &id);
  // The first read fetches it from the store into the owner's disk cache, the second is
  // served from the cache file (sendfile), both byte-exact.
  for (int i = 0; i < 2; ++i) {
    auto d = c->group->tier()->Get(key, plain.size());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(**d == plain);
  }
  EXPECT_EQ(a->gets(), 1u);
  EXPECT_EQ(c->gets(), 0u);
  EXPECT_TRUE(a->disk->Contains(key));
  // Damage one byte of the owner's cache file: the owner sends it unchecked, the reader's
  // check fails (an error: its chain would read the store), and the owner drops its copy.
  const std::string path = dir + "/blocks/" + key;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12345);
    f.put(static_cast<char>(plain[12345] ^ 0x40));
  }
  auto bad = c->group->tier()->Get(key, plain.size());
  EXPECT_EQ(bad.status().code(), Code::kCorruption) << bad.status().ToString();
  EXPECT_FALSE(a->disk->Contains(key));
  EXPECT_FALSE(std::filesystem::exists(path));
  // The next read is good again: the owner fetches a fresh copy from the store.
  auto again = c->group->tier()->Get(key, plain.size());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(**again == plain);
  EXPECT_EQ(a->gets(), 2u);
  // A cache file of the wrong size is never sent: the owner drops it and serves the store's.
  std::filesystem::resize_file(path, plain.size() / 2);
  auto cut = c->group->tier()->Get(key, plain.size());
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_TRUE(**cut == plain);
  EXPECT_EQ(a->gets(), 3u);
  EXPECT_EQ(a->disk->corrupt_dropped(), 1u);
  a.reset();
  c.reset();
  std::filesystem::remove_all(dir);
}

TEST_F(PeerGroupTest, AVersion1MemberGetsAClearRefusalAndAVersion1PeerIsSkipped) {
  auto a = NewMember(bucket_, secret_, &roster_);
  StartMembership({a.get()});
  // A version 1 member's HTTP request to this member: an HTTP answer naming the version.
  const std::string address = a->group->address();
  int fd = Dial(address);
  ASSERT_GE(fd, 0);
  const std::string req = "GET /v1/block/v/chunks/0/0/1_0_10?len=10 HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string answer;
  char buf[512];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) answer.append(buf, n);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 403", 0), 0u) << answer;
  EXPECT_NE(answer.find("peer protocol 2"), std::string::npos) << answer;
  EXPECT_EQ(a->group->stats().server.denied, 1u);

  // This member asking a version 1 member (an HTTP server answers the frame with HTTP 400):
  // an error naming the version, the peer skipped, nothing returned.
  std::string old_address;
  int lfd = Listen(&old_address);
  ASSERT_GE(lfd, 0);
  std::thread old([lfd] {
    int cfd = accept(lfd, nullptr, nullptr);
    char in[256];
    (void)recv(cfd, in, sizeof(in), 0);
    const std::string res = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)send(cfd, res.data(), res.size(), MSG_NOSIGNAL);
    close(cfd);
  });
  Roster old_roster;
  old_roster.members.push_back({old_address, 1ULL << 30});
  auto c = NewMember(bucket_, secret_, &old_roster, /*sharing=*/false);
  c->group->StartMembership(old_roster.List());
  const std::string key = StoreBlock(bucket_, 9, std::string(4096, 'q'));
  auto d = c->group->tier()->Get(key, 4096);
  old.join();
  close(lfd);
  EXPECT_EQ(d.status().code(), Code::kUnavailable) << d.status().ToString();
  EXPECT_NE(d.status().ToString().find("protocol 1"), std::string::npos) << d.status().ToString();
  EXPECT_EQ(c->group->tier()->Get(key, 4096).status().code(), Code::kNotFound);  // skipped
}

TEST_F(PeerGroupTest, AKeptConnectionThePeerClosedIsReplacedWithoutAnError) {
  // A server, a tier asking it, the server restarted on the same port: the tier's kept
  // connection is dead, and the next request goes out again on a new one.
  auto m = NewMember(bucket_, secret_, &roster_, /*sharing=*/false);  // a store and memory
  auto owner = cache::LocalOwner::Open({m->memory.get()}, m->store.get(),
                                       [](const std::string&, uint32_t) { return true; });
  ASSERT_TRUE(owner.ok());
  cache::PeerAuth auth(secret_);
  auto server =
      cache::PeerServer::Start("127.0.0.1", 0, 8, &auth, owner->get(), SystemClock::Get());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  const std::string id = "127.0.0.1:" + std::to_string(port);
  cache::PeerTier tier(cache::PeerTierOptions{}, &auth, SystemClock::Get());
  tier.SetMembers(std::make_shared<cache::HashRing>(std::vector<cache::RingMember>{{id, 1 << 30}}),
                  "", nullptr);
  const std::string plain(8192, 'k');
  const std::string key = StoreBlock(bucket_, 11, plain);
  ASSERT_TRUE(tier.Get(key, plain.size()).ok());
  (*server)->Stop();
  server = cache::PeerServer::Start("127.0.0.1", port, 8, &auth, owner->get(), SystemClock::Get());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto d = tier.Get(key, plain.size());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(**d == plain);
  EXPECT_EQ(tier.stats().peer_errors, 0u);
  EXPECT_EQ(tier.stats().peer_hits, 2u);
}

TEST_F(PeerGroupTest, AWrittenBlockIsPutToItsOwnerWhichThenAnswersCachedAndEvict) {
  auto a = NewMember(bucket_, secret_, &roster_);
  auto w = NewMember(bucket_, secret_, &roster_, /*sharing=*/false, 2000ms, nullptr, "",
                     /*fill_on_write=*/true);
  StartMembership({a.get(), w.get()});
  ASSERT_TRUE(w->group->tier()->WantsFill());
  const std::string plain(1 << 20, 'p');
  const std::string key = BlockKey(kPrefix, 21, 0, static_cast<uint32_t>(plain.size()));
  ASSERT_TRUE(w->group->tier()->Put(key, BlockBuffer::Share(BlockBuffer::Copy(plain))).ok());
  EXPECT_TRUE(a->memory->Contains(key));
  EXPECT_EQ(a->group->stats().server.filled, 1u);
  EXPECT_EQ(w->group->stats().tier.fills_sent, 1u);
  auto cached = w->group->tier()->Cached(key, plain.size());
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_TRUE(*cached);
  auto d = w->group->tier()->Get(key, plain.size());  // from a's cache: never in the store
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(**d == plain);
  EXPECT_EQ(a->gets(), 0u);
  ASSERT_TRUE(w->group->tier()->Evict(key, plain.size()).ok());
  EXPECT_FALSE(a->memory->Contains(key));
  cached = w->group->tier()->Cached(key, plain.size());
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(*cached);
}

TEST_F(PeerGroupTest, ACacheFileWithoutADescriptorIsSentThroughABuffer) {
  MemEnv env;  // its files have no OS descriptor: no sendfile
  auto a = NewMember(bucket_, secret_, &roster_, true, 2000ms, &env, "/cache");
  auto c = NewMember(bucket_, secret_, &roster_, /*sharing=*/false);
  StartMembership({a.get(), c.get()});
  const std::string plain(1 << 20, 'm');
  uint64_t id = 0;
  const std::string key = KeyOwnedBy(*a, plain, &id);
  for (int i = 0; i < 2; ++i) {  // from the store, then from the cache file
    auto d = c->group->tier()->Get(key, plain.size());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_TRUE(**d == plain);
  }
  EXPECT_EQ(a->gets(), 1u);
  EXPECT_EQ(a->group->stats().server.served, 2u);
}

TEST_F(PeerGroupTest, AnAskerThatGoesAwayMidBlockDoesNotTakeTheOwnerDown) {
  char tmpl[] = "/tmp/strata-peer-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  PosixEnv env;
  auto a = NewMember(bucket_, secret_, &roster_, true, 2000ms, &env, dir);
  auto c = NewMember(bucket_, secret_, &roster_, /*sharing=*/false);
  StartMembership({a.get(), c.get()});
  const std::string plain(32 << 20, 'g');  // more than the socket buffers hold
  uint64_t id = 0;
  const std::string key = KeyOwnedBy(*a, plain, &id);
  ASSERT_TRUE(c->group->tier()->Get(key, plain.size()).ok());  // now in a's cache file
  // Ask for it by hand, read the first bytes (the owner is in sendfile now), then reset.
  for (int round = 0; round < 3; ++round) {
    int fd = Dial(a->group->address());
    ASSERT_GE(fd, 0);
    cache::PeerAuth auth(secret_);
    const std::string nonce = cache::PeerAuth::NewNonce();
    cache::wire::RequestHead req;
    req.len = static_cast<uint32_t>(plain.size());
    req.key = key;
    req.auth =
        auth.SignRequest("GET", key, req.len, SystemClock::Get()->NowNanos() / 1000000000, nonce);
    const std::string frame = cache::wire::EncodeRequest(req);
    ASSERT_EQ(send(fd, frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
    char buf[65536];
    ASSERT_GT(recv(fd, buf, sizeof(buf), MSG_WAITALL), 0);
    linger hard{1, 0};  // close with a reset
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    close(fd);
  }
  std::this_thread::sleep_for(200ms);
  // Still serving (this process, which hosts the owner, would have died of SIGPIPE).
  auto d = c->group->tier()->Get(key, plain.size());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(**d == plain);
  a.reset();
  c.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata::chunk
