// RunTxn's time budget and metrics, on a fake clock (no real waiting).
#include <gtest/gtest.h>

#include "meta/kv/kv.h"
#include "meta/kv/mem_kv.h"

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
