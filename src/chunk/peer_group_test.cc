// The cache group's peer tier and server over real parts: each member has a memory tier and
// a store tier over one shared MemStore (behind a FaultyStore adding latency, and a
// MetricsStore counting GETs), a CacheGroup serving on 127.0.0.1, and a ring of the members
// (in a mount the ring comes from the session records; here from a list the test keeps).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/cache_group.h"
#include "cache/memory_tier.h"
#include "cache/tier_chain.h"
#include "chunk/block_key.h"
#include "chunk/store_tier.h"
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
  std::unique_ptr<cache::CacheGroup> group;

  uint64_t gets() const { return metrics->Snapshot(object::StoreOp::kGet).calls; }
};

std::unique_ptr<Member> NewMember(std::shared_ptr<object::ObjectStore> bucket,
                                  const std::string& secret, Roster* roster, bool sharing = true,
                                  std::chrono::milliseconds timeout = 2000ms) {
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
  auto group = cache::CacheGroup::Open(go, secret, SystemClock::Get());
  EXPECT_TRUE(group.ok()) << group.status().ToString();
  m->group = std::move(*group);
  auto valid = [](const std::string& key, uint32_t len) {
    auto p = ParseBlockKey(kPrefix, key);
    return p.ok() && p->len == len;
  };
  auto addr = m->group->Serve({m->memory.get()}, m->store.get(), valid, 1ULL << 30);
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

}  // namespace
}  // namespace strata::chunk
