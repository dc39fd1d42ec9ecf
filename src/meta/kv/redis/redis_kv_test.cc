// RedisKv against a real redis-server started on a free loopback port: the conformance suite,
// and what is particular to Redis (unreachable server, AUTH, SELECT, eviction policy,
// reconnection after a restart). Skipped when redis-server is not installed.
#include "meta/kv/redis/redis_kv.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "meta/kv/testing/kv_conformance.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace strata::kv {
namespace {

using conformance::KvConformanceTest;
using conformance::KvEngineFactory;
using strata::testing::RedisServer;

// One server for the conformance cases, started on first use and stopped at exit.
struct SharedServer {
  std::unique_ptr<RedisServer> server;
  std::string error;
};
SharedServer& Shared() {
  static SharedServer* shared = [] {
    auto* s = new SharedServer;
    auto r = RedisServer::Start();
    if (r.ok()) {
      s->server = std::move(*r);
    } else {
      s->error = r.status().ToString();
    }
    return s;
  }();
  return *shared;
}
class StopSharedServer : public ::testing::Environment {
 public:
  void TearDown() override { Shared().server.reset(); }
};
[[maybe_unused]] ::testing::Environment* const kStopEnv =
    ::testing::AddGlobalTestEnvironment(new StopSharedServer);

std::string SkipReason() {
  auto& s = Shared();
  return s.server ? "" : "no redis-server: " + s.error;
}

KvEngineFactory RedisFactory() {
  KvEngineFactory f;
  f.name = "redis";
  f.open = []() -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, RedisKv::OpenUrl(Shared().server->Url(3)));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  f.skip_reason = SkipReason;
  f.honors_expect_absent = true;
  return f;
}

INSTANTIATE_TEST_SUITE_P(Redis, KvConformanceTest, ::testing::Values(RedisFactory()),
                         conformance::FactoryName);

// Starts a dedicated server, or skips the test.
#define START_OR_SKIP(var, ...)                                             \
  auto var##_r = RedisServer::Start(__VA_ARGS__);                           \
  if (var##_r.code() == Code::kNotFound) GTEST_SKIP() << "no redis-server"; \
  ASSERT_TRUE(var##_r.ok()) << var##_r.status().ToString();                 \
  auto var = std::move(*var##_r)

TEST(RedisKvTest, UnreachableServerIsUnavailableNotAHang) {
  int port = strata::testing::FreePort();  // nothing listens there
  auto kv = RedisKv::OpenUrl("redis://127.0.0.1:" + std::to_string(port) + "/0");
  EXPECT_EQ(kv.code(), Code::kUnavailable) << kv.status().ToString();
  EXPECT_EQ(RedisKv::OpenUrl("redis://127.0.0.1:1/x").code(), Code::kInvalidArgument);
  EXPECT_EQ(RedisKv::OpenUrl("redis:///0").code(), Code::kInvalidArgument);
  EXPECT_EQ(RedisKv::OpenUrl("redis://h:1/0?colour=red").code(), Code::kInvalidArgument);
}

TEST(RedisKvTest, PasswordIsRequiredAndNeverShown) {
  START_OR_SKIP(server, {"--requirepass", "s3cret"});
  std::string base = "127.0.0.1:" + std::to_string(server->port()) + "/0";
  auto none = RedisKv::OpenUrl("redis://" + base);
  EXPECT_EQ(none.code(), Code::kPermissionDenied) << none.status().ToString();
  auto wrong = RedisKv::OpenUrl("redis://:nope@" + base);
  EXPECT_EQ(wrong.code(), Code::kPermissionDenied) << wrong.status().ToString();
  EXPECT_EQ(wrong.status().message().find("nope"), std::string_view::npos);
  auto right = RedisKv::OpenUrl("redis://:s3cret@" + base);
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ((*right)->Describe().find("s3cret"), std::string::npos);
  ASSERT_TRUE(conformance::PutOne(**right, "k", "v").ok());
  EXPECT_EQ(conformance::Read(**right, "k"), "v");
}

TEST(RedisKvTest, EvictingServerIsRefusedVolatileIsAccepted) {
  START_OR_SKIP(evicting, {"--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"});
  auto kv = RedisKv::OpenUrl(evicting->Url());
  EXPECT_EQ(kv.code(), Code::kInvalidArgument) << kv.status().ToString();
  EXPECT_NE(kv.status().message().find("allkeys-lru"), std::string_view::npos);
  evicting.reset();
  START_OR_SKIP(volatile_lru, {"--maxmemory-policy", "volatile-lru"});
  EXPECT_TRUE(RedisKv::OpenUrl(volatile_lru->Url()).ok());
}

TEST(RedisKvTest, DatabasesAreSeparate) {
  if (!SkipReason().empty()) GTEST_SKIP() << SkipReason();
  auto one = RedisKv::OpenUrl(Shared().server->Url(1));
  auto two = RedisKv::OpenUrl(Shared().server->Url(2));
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_TRUE((*one)->Clear().ok() && (*two)->Clear().ok());
  ASSERT_TRUE(conformance::PutOne(**one, "only-in-1", "x").ok());
  EXPECT_EQ(conformance::Read(**one, "only-in-1"), "x");
  EXPECT_EQ(conformance::Read(**two, "only-in-1"), "<absent>");
}

// Transaction::HintAbsent seeds the version cache with "absent": a right hint answers a later
// read-write transaction's read without asking the server; a wrong one (another client wrote
// the key) costs one conflict and a retry that reads the server, never a wrong answer.
TEST(RedisKvTest, AWrongAbsentHintCostsAConflictNotAWrongAnswer) {
  if (!SkipReason().empty()) GTEST_SKIP() << SkipReason();
  auto mine = RedisKv::OpenUrl(Shared().server->Url(4));
  auto other = RedisKv::OpenUrl(Shared().server->Url(4));
  ASSERT_TRUE(mine.ok() && other.ok());
  ASSERT_TRUE((*mine)->Clear().ok());
  ASSERT_TRUE(conformance::PutOne(**other, "taken", "theirs").ok());
  ASSERT_TRUE(RunTxn(**mine, [](Transaction& t) {
                t.Put("new", "1");
                t.HintAbsent("taken");  // wrong: the other client wrote it
                t.HintAbsent("free");   // right
                return Status::OK();
              }).ok());
  int attempts = 0;
  std::string seen;
  ASSERT_TRUE(RunTxn(**mine, [&](Transaction& t) -> Status {
                attempts++;
                ASSIGN_OR_RETURN(auto v, t.Get("taken"));
                seen = v.value_or("<absent>");
                t.Put("copy", seen);
                return Status::OK();
              }).ok());
  EXPECT_EQ(seen, "theirs");
  EXPECT_EQ(attempts, 2) << "the cached 'absent' should have failed the first commit";
  EXPECT_EQ(conformance::Read(**mine, "copy"), "theirs");
  attempts = 0;
  ASSERT_TRUE(RunTxn(**mine, [&](Transaction& t) -> Status {
                attempts++;
                ASSIGN_OR_RETURN(auto v, t.Get("free"));
                if (v) return Status::Internal("'free' should be absent");
                t.Put("free", "mine");
                return Status::OK();
              }).ok());
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(conformance::Read(**other, "free"), "mine");
}

// A server that accepts connections but never answers (SIGSTOP: a hung or partitioned
// primary) costs a transaction its deadline, not io_timeout_ms per reply times the retries.
TEST(RedisKvTest, AFrozenServerCostsATransactionItsDeadlineOnly) {
  START_OR_SKIP(server);
  auto kv = RedisKv::OpenUrl(server->Url() + "?pool_size=2&io_timeout_ms=10000");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(conformance::PutOne(**kv, "before", "1").ok());
  RetryPolicy p;
  p.budget = std::chrono::milliseconds(1500);
  (*kv)->set_retry_policy(p);
  ASSERT_EQ(kill(server->pid(), SIGSTOP), 0);
  auto start = std::chrono::steady_clock::now();
  Status s = RunTxn(**kv, [](Transaction& t) { return t.Get("before").status(); });
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  kill(server->pid(), SIGCONT);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_LT(took, 5.0) << "waited past the 1.5 s budget: " << s.ToString();
  // The same engine works again once the server answers.
  p.budget = std::chrono::milliseconds(10000);
  (*kv)->set_retry_policy(p);
  EXPECT_EQ(conformance::Read(**kv, "before"), "1");
}

TEST(RedisKvTest, ReconnectsAfterRestart) {
  START_OR_SKIP(server);
  auto kv = RedisKv::OpenUrl(server->Url() + "?pool_size=4");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  ASSERT_TRUE(conformance::PutOne(**kv, "before", "1").ok());
  ASSERT_TRUE(server->Restart().ok());  // no persistence: the data is gone, the engine is not
  ASSERT_TRUE(conformance::PutOne(**kv, "after", "2").ok());
  EXPECT_EQ(conformance::Read(**kv, "after"), "2");
  EXPECT_EQ(conformance::Read(**kv, "before"), "<absent>");
  // While the server is down, requests fail as unavailable instead of hanging.
  server->Stop();
  Status s = RunTxn(
      **kv, [](Transaction& t) { return t.Get("x").status(); },
      TxnOptions{.max_retries = 2, .base_backoff_us = 100});
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace strata::kv
