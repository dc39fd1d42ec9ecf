// PostgresKv against a real PostgreSQL 15 started in a temporary directory on a free loopback
// port: the conformance suite, and what is particular to PostgreSQL (unreachable server, a
// wrong password, a missing database, a database without the table, a table of another shape,
// writers across `pg_ctl restart -m fast`). Skipped when PostgreSQL is not installed.
#include "meta/kv/postgres/postgres_kv.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "meta/kv/testing/kv_conformance.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace strata::kv {
namespace {

using conformance::KvConformanceTest;
using conformance::KvEngineFactory;
using strata::testing::PostgresServer;

struct SharedServer {
  std::unique_ptr<PostgresServer> server;
  std::string error;
};
SharedServer& Shared() {
  static SharedServer* shared = [] {
    auto* s = new SharedServer;
    auto r = PostgresServer::Start();
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
  return s.server ? "" : "no postgres: " + s.error;
}
#define SHARED_OR_SKIP() \
  if (!SkipReason().empty()) GTEST_SKIP() << SkipReason()

KvEngineFactory PostgresFactory() {
  KvEngineFactory f;
  f.name = "postgres";
  f.open = []() -> Result<std::shared_ptr<KvEngine>> {
    ASSIGN_OR_RETURN(auto kv, PostgresKv::OpenUrl(Shared().server->Url()));
    return std::shared_ptr<KvEngine>(std::move(kv));
  };
  f.skip_reason = SkipReason;
  // Optimistic: read-write transactions run side by side (postgres_kv.h).
  f.honors_expect_absent = true;
  return f;
}

INSTANTIATE_TEST_SUITE_P(Postgres, KvConformanceTest, ::testing::Values(PostgresFactory()),
                         conformance::FactoryName);

TEST(PostgresKvTest, BadUrlsAndAnUnreachableServer) {
  int port = strata::testing::FreePort();
  auto kv = PostgresKv::OpenUrl("postgres://u@127.0.0.1:" + std::to_string(port) + "/db");
  EXPECT_EQ(kv.code(), Code::kUnavailable) << kv.status().ToString();
  EXPECT_EQ(PostgresKv::OpenUrl("postgres://127.0.0.1:1").code(), Code::kInvalidArgument);
  EXPECT_EQ(PostgresKv::OpenUrl("postgres:///db").code(), Code::kInvalidArgument);
  EXPECT_EQ(PostgresKv::OpenUrl("postgres://h:1/db?pool_size=0").code(), Code::kInvalidArgument);
}

TEST(PostgresKvTest, WrongPasswordAndMissingDatabase) {
  auto s = PostgresServer::Start("s3cret");
  if (s.code() == Code::kNotFound) GTEST_SKIP() << "no postgres";
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::string base = "@127.0.0.1:" + std::to_string((*s)->port());
  auto wrong = PostgresKv::OpenUrl("postgres://postgres:nope" + base + "/postgres");
  EXPECT_EQ(wrong.code(), Code::kPermissionDenied) << wrong.status().ToString();
  EXPECT_EQ(wrong.status().message().find("nope"), std::string_view::npos);
  EXPECT_EQ(wrong.status().message().find('\n'), std::string_view::npos);
  auto nodb = PostgresKv::OpenUrl("postgres://postgres:s3cret" + base + "/nosuchdb");
  EXPECT_EQ(nodb.code(), Code::kNotFound) << nodb.status().ToString();
  auto right = PostgresKv::OpenUrl((*s)->Url());
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ((*right)->Describe().find("s3cret"), std::string::npos);
  ASSERT_TRUE(conformance::PutOne(**right, "k", "v").ok());
  EXPECT_EQ(conformance::Read(**right, "k"), "v");
}

TEST(PostgresKvTest, ADatabaseWithoutTheTableIsReadAsEmptyAndLeftUntouched) {
  SHARED_OR_SKIP();
  auto& pg = *Shared().server;
  ASSERT_TRUE(pg.Psql("CREATE DATABASE empty_db").ok());
  auto kv = PostgresKv::OpenUrl(pg.Url("empty_db"));
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(conformance::Read(**kv, "setting"), "<absent>");
  Status s = RunTxn(**kv, [](Transaction& t) { return t.Scan("", "", 10).status(); });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE((*kv)->Clear().ok());
  EXPECT_EQ(*pg.Psql("SELECT count(*) FROM pg_tables WHERE tablename = 'kv'", "empty_db"), "0\n");
  // The first write creates it.
  ASSERT_TRUE(conformance::PutOne(**kv, "setting", "x").ok());
  EXPECT_EQ(*pg.Psql("SELECT count(*) FROM kv", "empty_db"), "1\n");
  // A kv table of another shape is refused.
  ASSERT_TRUE(pg.Psql("CREATE DATABASE other_db").ok());
  ASSERT_TRUE(pg.Psql("CREATE TABLE kv (k text PRIMARY KEY, v text)", "other_db").ok());
  auto other = PostgresKv::OpenUrl(pg.Url("other_db"));
  EXPECT_EQ(other.code(), Code::kInvalidArgument) << other.status().ToString();
}

// Two clients (each with its version cache) read-modify-write one counter in turn: every
// read after the other client's commit comes from a stale cache at first, so every commit
// but the first of each client conflicts once and is run again from the server's value.
// Nothing is lost, and no wrong value is ever written.
TEST(PostgresKvTest, AStaleVersionCacheCostsAConflictNotALostUpdate) {
  SHARED_OR_SKIP();
  auto a = PostgresKv::OpenUrl(Shared().server->Url());
  auto b = PostgresKv::OpenUrl(Shared().server->Url());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(conformance::PutOne(**a, "counter", "0").ok());
  int attempts = 0;
  for (int i = 0; i < 20; i++) {
    KvEngine& kv = i % 2 ? **b : **a;
    ASSERT_TRUE(RunTxn(kv, [&](Transaction& t) -> Status {
                  attempts++;
                  ASSIGN_OR_RETURN(auto v, t.Get("counter"));
                  t.Put("counter", std::to_string(std::stoi(v.value_or("0")) + 1));
                  return Status::OK();
                }).ok());
  }
  EXPECT_EQ(conformance::Read(**a, "counter"), "20");
  // Each client's cache held its own last write, which the other had replaced since.
  EXPECT_GT(attempts, 20);
  EXPECT_LE(attempts, 40);
  // The same client again: its cache is current, one attempt.
  attempts = 0;
  ASSERT_TRUE(RunTxn(**b, [&](Transaction& t) -> Status {
                attempts++;
                ASSIGN_OR_RETURN(auto v, t.Get("counter"));
                t.Put("counter", std::to_string(std::stoi(v.value_or("0")) + 1));
                return Status::OK();
              }).ok());
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(conformance::Read(**a, "counter"), "21");
}

// Writers keep going across `pg_ctl restart -m fast`: the engine drops the cut connections
// and opens new ones; nothing acknowledged is lost.
TEST(PostgresKvTest, WritersGoOnAcrossAFastRestart) {
  auto s = PostgresServer::Start();
  if (s.code() == Code::kNotFound) GTEST_SKIP() << "no postgres";
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto kv = PostgresKv::OpenUrl((*s)->Url() + "?pool_size=4");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  RetryPolicy p;
  p.budget = std::chrono::milliseconds(15000);
  (*kv)->set_retry_policy(p);
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; w++) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; i++) {
        Status st = RunTxn(**kv, [&](Transaction& t) -> Status {
          ASSIGN_OR_RETURN(auto n, t.Get("count"));
          t.Put("count", std::to_string(n ? std::stoi(*n) + 1 : 1));
          t.Put("w" + std::to_string(w) + "/" + std::to_string(i), "x");
          return Status::OK();
        });
        if (st.ok()) {
          acked++;
        } else {
          ADD_FAILURE() << st.ToString();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE((*s)->Restart().ok());
  int after_restart = acked;
  auto t0 = std::chrono::steady_clock::now();
  while (acked < after_restart + 20 &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GE(acked, after_restart + 20);
  EXPECT_EQ(conformance::Read(**kv, "count"), std::to_string(acked.load()));
}

}  // namespace
}  // namespace strata::kv
