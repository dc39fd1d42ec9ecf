// EtcdKv against real etcd members started on free loopback ports: the conformance suite on
// one member, and what is particular to etcd (unreachable cluster, a foreign prefix, auth,
// base64, failover to the next member when the leader dies, a quorum lost and regained).
// Skipped when etcd is not installed.
#include "meta/kv/etcd/etcd_kv.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "meta/kv/testing/kv_conformance.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/process.h"

namespace strata::kv {
namespace {

using conformance::KvConformanceTest;
using conformance::KvEngineFactory;
using strata::testing::EtcdCluster;

struct SharedCluster {
  std::unique_ptr<EtcdCluster> cluster;
  std::string error;
};
SharedCluster& Shared() {
  static SharedCluster* shared = [] {
    auto* s = new SharedCluster;
    auto r = EtcdCluster::Start(1);
    if (r.ok()) {
      s->cluster = std::move(*r);
    } else {
      s->error = r.status().ToString();
    }
    return s;
  }();
  return *shared;
}
class StopSharedCluster : public ::testing::Environment {
 public:
  void TearDown() override { Shared().cluster.reset(); }
};
[[maybe_unused]] ::testing::Environment* const kStopEnv =
    ::testing::AddGlobalTestEnvironment(new StopSharedCluster);

std::string SkipReason() {
  auto& s = Shared();
  return s.cluster ? "" : "no etcd: " + s.error;
}

KvEngineFactory EtcdFactory() {
  KvEngineFactory f;
  f.name = "etcd";
  f.open = []() -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, EtcdKv::OpenUrl(Shared().cluster->Url("conformance")));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  f.skip_reason = SkipReason;
  f.honors_expect_absent = true;
  return f;
}

INSTANTIATE_TEST_SUITE_P(Etcd, KvConformanceTest, ::testing::Values(EtcdFactory()),
                         conformance::FactoryName);

#define SHARED_OR_SKIP() \
  if (!SkipReason().empty()) GTEST_SKIP() << SkipReason()

TEST(EtcdKvTest, Base64RoundTrips) {
  for (std::string s : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("\0\xff\x80 binary", 12)}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("strata"), "c3RyYXRh");
}

TEST(EtcdKvTest, UnreachableClusterIsUnavailableWithinItsTimeout) {
  int p1 = strata::testing::FreePort(), p2 = strata::testing::FreePort();
  auto start = std::chrono::steady_clock::now();
  auto kv = EtcdKv::OpenUrl("etcd://127.0.0.1:" + std::to_string(p1) +
                            ",127.0.0.1:" + std::to_string(p2) + "/v?open_timeout_ms=1500");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(kv.code(), Code::kUnavailable) << kv.status().ToString();
  EXPECT_LT(took, 5.0);
  EXPECT_EQ(EtcdKv::OpenUrl("etcd:///v").code(), Code::kInvalidArgument);
  EXPECT_EQ(EtcdKv::OpenUrl("etcd://h:1/v?colour=red").code(), Code::kInvalidArgument);
  EXPECT_EQ(EtcdKv::OpenUrl("etcd://h:1/v?io_timeout_ms=x").code(), Code::kInvalidArgument);
}

TEST(EtcdKvTest, PrefixesAreSeparateAndAForeignPrefixIsRefused) {
  SHARED_OR_SKIP();
  auto a = EtcdKv::OpenUrl(Shared().cluster->Url("sep/a"));
  auto b = EtcdKv::OpenUrl(Shared().cluster->Url("sep/ab"));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
  ASSERT_TRUE((*a)->Clear().ok() && (*b)->Clear().ok());
  ASSERT_TRUE(conformance::PutOne(**a, "k", "in-a").ok());
  EXPECT_EQ(conformance::Read(**a, "k"), "in-a");
  EXPECT_EQ(conformance::Read(**b, "k"), "<absent>");
  // Keys another program put under a prefix: not ours, refused without writing anything.
  ASSERT_TRUE(Shared().cluster->Etcdctl({"put", "foreign/config", "x"}).ok());
  auto f = EtcdKv::OpenUrl(Shared().cluster->Url("foreign"));
  EXPECT_EQ(f.code(), Code::kInvalidArgument) << f.status().ToString();
  auto got = Shared().cluster->Etcdctl({"get", "--prefix", "foreign/", "--keys-only"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "foreign/config\n\n");
}

// Two clients (each with its version cache) read-modify-write one counter in turn: a read of
// the key the other client replaced since comes from a stale cache, conflicts at commit and is
// run again from the cluster's value. Nothing is lost; a current cache costs one attempt.
TEST(EtcdKvTest, AStaleVersionCacheCostsAConflictNotALostUpdate) {
  SHARED_OR_SKIP();
  auto a = EtcdKv::OpenUrl(Shared().cluster->Url("cache"));
  auto b = EtcdKv::OpenUrl(Shared().cluster->Url("cache"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Clear().ok());
  ASSERT_TRUE(conformance::PutOne(**a, "counter", "0").ok());
  int attempts = 0;
  auto bump = [&](KvEngine& kv) {
    return RunTxn(kv, [&](Transaction& t) -> Status {
      attempts++;
      ASSIGN_OR_RETURN(auto v, t.Get("counter"));
      t.Put("counter", std::to_string(std::stoi(v.value_or("0")) + 1));
      return Status::OK();
    });
  };
  for (int i = 0; i < 20; i++) ASSERT_TRUE(bump(i % 2 ? **b : **a).ok());
  EXPECT_EQ(conformance::Read(**a, "counter"), "20");
  EXPECT_GT(attempts, 20);
  EXPECT_LE(attempts, 40);
  attempts = 0;
  ASSERT_TRUE(bump(**b).ok());
  EXPECT_EQ(attempts, 1);
  // A wrong belief that a key is absent costs a conflict, not a wrong answer.
  attempts = 0;
  std::string seen;
  ASSERT_TRUE(RunTxn(**a, [&](Transaction& t) -> Status {
                if (attempts++ == 0) t.ExpectAbsent("counter");
                ASSIGN_OR_RETURN(auto v, t.Get("counter"));
                seen = v.value_or("<absent>");
                if (!v) t.Put("counter", "0");
                return Status::OK();
              }).ok());
  EXPECT_EQ(seen, "21");
  EXPECT_EQ(conformance::Read(**a, "counter"), "21");
}

TEST(EtcdKvTest, PasswordIsCheckedAndNeverShown) {
  auto c = EtcdCluster::Start(1);
  if (c.code() == Code::kNotFound) GTEST_SKIP() << "no etcd";
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto& cl = **c;
  ASSERT_TRUE(cl.Etcdctl({"user", "add", "root:rootpw"}).ok());
  ASSERT_TRUE(cl.Etcdctl({"auth", "enable"}).ok());
  std::string hosts = "127.0.0.1:" + std::to_string(cl.client_port(0)) + "/vol";
  auto none = EtcdKv::OpenUrl("etcd://" + hosts);
  EXPECT_EQ(none.code(), Code::kPermissionDenied) << none.status().ToString();
  auto wrong = EtcdKv::OpenUrl("etcd://root:nope@" + hosts);
  EXPECT_EQ(wrong.code(), Code::kPermissionDenied) << wrong.status().ToString();
  EXPECT_EQ(wrong.status().message().find("nope"), std::string_view::npos);
  auto right = EtcdKv::OpenUrl("etcd://root:rootpw@" + hosts);
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ((*right)->Describe().find("rootpw"), std::string::npos);
  ASSERT_TRUE(conformance::PutOne(**right, "k", "v").ok());
  EXPECT_EQ(conformance::Read(**right, "k"), "v");
}

TEST(EtcdKvTest, TooManyOperationsNamesTheClusterLimit) {
  auto c = EtcdCluster::Start(1, {"--max-txn-ops", "16"});
  if (c.code() == Code::kNotFound) GTEST_SKIP() << "no etcd";
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto kv = EtcdKv::OpenUrl((*c)->Url("v"));
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  Status s = RunTxn(**kv, [](Transaction& t) {
    for (int i = 0; i < 40; i++) t.Put("k" + std::to_string(i), "v");
    return Status::OK();
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("max-txn-ops"), std::string_view::npos) << s.ToString();
}

// Three members: the leader is SIGKILLed while writers run; they go on through the others,
// nothing acknowledged is lost; without a quorum transactions fail within their deadline,
// and work again once a member is back.
TEST(EtcdKvTest, SurvivesTheLeaderAndFailsFastWithoutAQuorum) {
  auto c = EtcdCluster::Start(3);
  if (c.code() == Code::kNotFound) GTEST_SKIP() << "no etcd";
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto& cl = **c;
  auto kv = EtcdKv::OpenUrl(cl.Url("fail") + "?io_timeout_ms=2000");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  RetryPolicy p;
  p.budget = std::chrono::milliseconds(10000);
  (*kv)->set_retry_policy(p);
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; w++) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; i++) {
        std::string key = "w" + std::to_string(w) + "/" + std::to_string(i);
        // A counter read-modify-write too, so compares are exercised under failover.
        Status s = RunTxn(**kv, [&](Transaction& t) -> Status {
          ASSIGN_OR_RETURN(auto n, t.Get("count"));
          t.Put("count", std::to_string(n ? std::stoi(*n) + 1 : 1));
          t.Put(key, "x");
          return Status::OK();
        });
        if (s.ok()) {
          acked++;
        } else {
          failures++;
          ADD_FAILURE() << key << ": " << s.ToString();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int leader = cl.Leader();
  ASSERT_GE(leader, 0);
  int before = acked;
  cl.Kill(leader);
  auto killed_at = std::chrono::steady_clock::now();
  while (acked < before + 20 &&
         std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(acked, before + 20) << "writers did not go on after the leader died";
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(conformance::Read(**kv, "count"), std::to_string(acked.load()));

  // A second member down: no quorum. A transaction fails within its budget, not a hang.
  int second = (leader + 1) % 3;
  cl.Kill(second);
  p.budget = std::chrono::milliseconds(2000);
  (*kv)->set_retry_policy(p);
  auto start = std::chrono::steady_clock::now();
  Status s = RunTxn(**kv, [](Transaction& t) {
    t.Put("lost", "x");
    return Status::OK();
  });
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(s.ok());
  EXPECT_LT(took, 8.0) << s.ToString();
  // A member returns: the quorum is back and so is the engine.
  ASSERT_TRUE(cl.Restart(second).ok());
  p.budget = std::chrono::milliseconds(15000);
  (*kv)->set_retry_policy(p);
  ASSERT_TRUE(conformance::PutOne(**kv, "after", "1").ok());
  EXPECT_EQ(conformance::Read(**kv, "after"), "1");
}

}  // namespace
}  // namespace strata::kv
