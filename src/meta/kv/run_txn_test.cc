// RunTxn's time budget and metrics, on a fake clock (no real waiting).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "meta/kv/counting_kv.h"
#include "meta/kv/kv.h"
#include "meta/kv/mem_kv.h"
#include "meta/kv/testing/kv_conformance.h"

namespace strata::kv {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RunTxnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set_auto_advance(true);
    auto kv = MemKv::Open();
    ASSERT_TRUE(kv.ok());
    kv_ = std::move(*kv);
    RetryPolicy p;
    p.budget = seconds(5);
    p.clock = &clock_;
    ASSERT_TRUE(p.Validate().ok());
    kv_->set_retry_policy(p);
  }
  FakeClock clock_;
  std::unique_ptr<MemKv> kv_;
};

TEST_F(RunTxnTest, AnEngineThatStaysDownIsGivenUpAtTheBudgetWithAClearError) {
  int calls = 0;
  int64_t start = clock_.MonotonicNanos();
  Status s = RunTxn(*kv_, [&](Transaction&) {
    calls++;
    return Status::Unavailable("redis 127.0.0.1:6390: cannot connect: Connection refused");
  });
  int64_t took = clock_.MonotonicNanos() - start;
  EXPECT_TRUE(s.Is(Code::kUnavailable)) << s.ToString();
  EXPECT_NE(s.message().find("gave up on transaction"), std::string_view::npos) << s.ToString();
  EXPECT_NE(s.message().find("Connection refused"), std::string_view::npos) << s.ToString();
  EXPECT_EQ(took, std::chrono::nanoseconds(seconds(5)).count());  // exactly the budget
  EXPECT_GT(calls, 10);  // retried all along, with back-off capped at 200 ms
  EXPECT_LT(calls, 1000);
}

TEST_F(RunTxnTest, TimeoutsBecomeUnavailableAndConflictStormsStayConflicts) {
  Status s = RunTxn(*kv_, [&](Transaction&) { return Status::Timeout("read"); });
  EXPECT_TRUE(s.Is(Code::kUnavailable)) << s.ToString();
  s = RunTxn(*kv_, [&](Transaction&) { return Status::Conflict("busy key"); });
  EXPECT_TRUE(s.Is(Code::kConflict)) << s.ToString();
}

TEST_F(RunTxnTest, AnEngineThatComesBackWithinTheBudgetSucceeds) {
  int calls = 0;
  Status s = RunTxn(*kv_, [&](Transaction& t) {
    if (clock_.MonotonicNanos() < std::chrono::nanoseconds(seconds(3)).count()) {
      calls++;
      return Status::Unavailable("down");
    }
    t.Put("k", "v");
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(calls, 1);
}

TEST_F(RunTxnTest, AnExplicitDeadlineOverridesTheBudget) {
  TxnOptions o;
  o.deadline = Deadline::After(clock_, milliseconds(300));
  int64_t start = clock_.MonotonicNanos();
  Status s = RunTxn(*kv_, [&](Transaction&) { return Status::Unavailable("down"); }, o);
  EXPECT_TRUE(s.Is(Code::kUnavailable));
  EXPECT_EQ(clock_.MonotonicNanos() - start, std::chrono::nanoseconds(milliseconds(300)).count());
}

TEST_F(RunTxnTest, NonRetryableErrorsReturnAtOnce) {
  int calls = 0;
  Status s = RunTxn(*kv_, [&](Transaction&) {
    calls++;
    return Status::NotFound("no such entry");
  });
  EXPECT_TRUE(s.Is(Code::kNotFound));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock_.slept().count(), 0);
}

TEST_F(RunTxnTest, CountsTransactionsConflictsRetriesAndFailures) {
  auto reg = std::make_shared<MetricsRegistry>();
  TxnMetrics m;
  m.owner = reg;
  m.transactions = *reg->GetCounter("txn_total", "t");
  m.conflicts = *reg->GetCounter("txn_conflicts_total", "c");
  m.retries = *reg->GetCounter("txn_retries_total", "r");
  m.failures = *reg->GetCounter("txn_failures_total", "f");
  m.latency = *reg->GetHistogram("txn_seconds", "l");
  kv_->set_txn_metrics(m);
  int calls = 0;
  ASSERT_TRUE(RunTxn(*kv_, [&](Transaction&) {
                return ++calls < 3 ? Status::Conflict("again") : Status::OK();
              }).ok());
  Status down = RunTxn(*kv_, [&](Transaction&) { return Status::Unavailable("down"); },
                       TxnOptions{.max_retries = 1});
  EXPECT_FALSE(down.ok());
  EXPECT_EQ(m.transactions->value(), 2u);
  EXPECT_EQ(m.conflicts->value(), 2u);
  EXPECT_EQ(m.retries->value(), 3u);
  EXPECT_EQ(m.failures->value(), 1u);
  EXPECT_EQ(m.latency->count(), 2u);
}

}  // namespace
}  // namespace strata::kv

// Group commit (issue 10, DESIGN.md §6) on memkv with an injected round-trip latency: commits
// that arrive while one is in flight share the next round trip, each caller gets its own
// result, and a conflict inside a group is retried alone while the others stay committed.
namespace strata::kv {
namespace {

TEST(GroupCommitTest, ConcurrentCommitsShareRoundTripsAndAConflictHurtsOnlyItsOwner) {
  MemKvOptions o;
  o.latency_us = 40000;  // 40 ms per round trip: every commit after the first finds one in flight
  o.group_commit_slots = 1;
  auto mem = MemKv::Open(o);
  ASSERT_TRUE(mem.ok());
  auto kv = std::make_shared<CountingKv>(std::shared_ptr<KvEngine>(std::move(*mem)));
  Counter conflicts;
  TxnMetrics m;
  m.conflicts = &conflicts;
  kv->set_txn_metrics(m);
  ASSERT_TRUE(RunTxn(*kv, [](Transaction& t) {
                t.Put("hot", "0");
                return Status::OK();
              }).ok());
  kv->Reset();

  constexpr int kWriters = 24;
  std::atomic<int> ready{0};
  std::vector<Status> results(kWriters + 2);
  std::vector<std::thread> threads;
  // Two read-modify-writes of one key: both read it before either commits, so whichever
  // commits second (in the same group or not) conflicts and is retried alone.
  for (int i = 0; i < 2; i++) {
    threads.emplace_back([&, i] {
      ready++;
      while (ready < kWriters + 2) std::this_thread::yield();
      results[kWriters + i] = RunTxn(*kv, [&](Transaction& t) {
        ASSIGN_OR_RETURN(auto v, t.Get("hot"));
        t.Put("hot", std::to_string(std::stoi(v.value_or("0")) + 1));
        return Status::OK();
      });
    });
  }
  for (int i = 0; i < kWriters; i++) {
    threads.emplace_back([&, i] {
      ready++;
      while (ready < kWriters + 2) std::this_thread::yield();
      results[i] = RunTxn(*kv, [&](Transaction& t) {
        t.Put("k/" + std::to_string(i), "v" + std::to_string(i));
        return t.Increment("total", {1}, false);
      });
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  const RoundTripCounts c = kv->counts();
  // 26 writing transactions (one of them twice) in far fewer commit round trips.
  EXPECT_LE(c.commits, 8u) << "commit round trips for " << kWriters + 2 << " transactions";
  EXPECT_GE(c.grouped, 10u);
  EXPECT_GE(conflicts.value(), 1u);  // the second read-modify-write of "hot"
  // Every caller's own write is there, and nothing was lost to the conflict.
  for (int i = 0; i < kWriters; i++) {
    EXPECT_EQ(conformance::Read(*kv, "k/" + std::to_string(i)), "v" + std::to_string(i));
  }
  EXPECT_EQ(conformance::Read(*kv, "hot"), "2");
  std::string total;
  PutU64BE(&total, kWriters);
  EXPECT_EQ(conformance::Read(*kv, "total"), total);
}

}  // namespace
}  // namespace strata::kv

namespace strata::kv {
namespace {

// Many committers against few slots: waiters taken into a group wake up while the queue is
// empty (the case that once read front() of an empty queue and led a second time).
TEST(GroupCommitTest, ManyCommittersOnOneSlotAllLandOnce) {
  MemKvOptions o;
  o.latency_us = 1000;
  o.group_commit_slots = 1;
  auto mem = MemKv::Open(o);
  ASSERT_TRUE(mem.ok());
  std::shared_ptr<KvEngine> kv(std::move(*mem));
  constexpr int kThreads = 48;
  constexpr int kEach = 6;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; j++) {
        EXPECT_TRUE(RunTxn(*kv, [&](Transaction& t) {
                      t.Put("k/" + std::to_string(i) + "/" + std::to_string(j), "v");
                      return t.Increment("n", {1}, false);
                    }).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string n;
  PutU64BE(&n, kThreads * kEach);
  EXPECT_EQ(conformance::Read(*kv, "n"), n);
}

}  // namespace
}  // namespace strata::kv
