#include "object/retry_store.h"

#include <gtest/gtest.h>

#include "object/faulty_store.h"
#include "object/mem_store.h"
#include "object/metrics_store.h"

namespace strata::object {
namespace {

// mem:// <- metrics (counts what reaches the backend) <- faults <- retry.
struct Stack {
  std::shared_ptr<MemStore> mem = MemStore::Open();
  std::shared_ptr<MetricsStore> metrics = MetricsStore::Open(mem);
  std::shared_ptr<FaultyStore> faults = FaultyStore::Open(metrics, {});
  std::unique_ptr<ObjectStore> retry;
  RetryStore* retry_impl = nullptr;

  explicit Stack(int max_attempts = 4) {
    RetryStore::Options o;
    o.max_attempts = max_attempts;
    o.initial_backoff = std::chrono::milliseconds(1);
    o.max_backoff = std::chrono::milliseconds(4);
    auto r = RetryStore::Open(faults, o);
    EXPECT_TRUE(r.ok());
    retry_impl = r->get();
    retry = std::move(*r);
  }
};

FaultRule Fail(uint32_t ops, Code code, int count) {
  FaultRule r;
  r.ops = ops;
  r.code = code;
  r.count = count;
  return r;
}

TEST(RetryStoreTest, SucceedsThroughTransientFaults) {
  Stack s;
  s.faults->AddRule(FaultRule::Throttle(OpBit(StoreOp::kPut), 1.0, /*count=*/2));
  s.faults->AddRule(Fail(OpBit(StoreOp::kGet), Code::kTimeout, 3));
  ASSERT_TRUE(s.retry->Put("k", "body").ok());
  auto got = s.retry->Get("k");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "body");
  EXPECT_EQ(s.retry_impl->retries(), 5u);
  EXPECT_EQ(s.metrics->Snapshot(StoreOp::kPut).calls, 1u);  // faults fired before the backend
}

// Sync is retried like every other operation: transient faults are absorbed, a persistent
// one is reported with the attempts made, a non-retryable one at once.
TEST(RetryStoreTest, RetriesSync) {
  Stack s(/*max_attempts=*/3);
  ASSERT_TRUE(s.retry->Put("k", "body").ok());
  s.faults->AddRule(FaultRule::Throttle(OpBit(StoreOp::kSync), 1.0, /*count=*/2));
  ASSERT_TRUE(s.retry->Sync({"k", "absent"}).ok());
  EXPECT_EQ(s.retry_impl->retries(), 2u);
  EXPECT_EQ(s.metrics->Snapshot(StoreOp::kSync).calls, 1u);  // reached the backend once

  s.faults->AddRule(FaultRule::Throttle(OpBit(StoreOp::kSync)));
  Status st = s.retry->Sync({"k"});
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.ToString().find("gave up on sync of 1 keys (k) after 3 attempts"), std::string::npos)
      << st.ToString();
  s.faults->ClearRules();
  s.faults->AddRule(Fail(OpBit(StoreOp::kSync), Code::kIOError, -1));
  uint64_t retries = s.retry_impl->retries();
  EXPECT_EQ(s.retry->Sync({"k"}).code(), Code::kIOError);
  EXPECT_EQ(s.retry_impl->retries(), retries);
}

TEST(RetryStoreTest, GivesUpOnPersistentFaultsNamingAttempts) {
  Stack s(/*max_attempts=*/3);
  s.faults->AddRule(FaultRule::Throttle(OpBit(StoreOp::kPut)));
  Status st = s.retry->Put("k", "body");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.ToString().find("gave up on put k after 3 attempts"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("SlowDown"), std::string::npos) << st.ToString();
  EXPECT_EQ(s.faults->injected(), 3u);
  EXPECT_EQ(s.mem->Head("k").code(), Code::kNotFound);
}

TEST(RetryStoreTest, NeverRetriesNotFoundOrPermissionDenied) {
  Stack s;
  auto missing = s.retry->Get("absent");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_EQ(s.metrics->Snapshot(StoreOp::kGet).calls, 1u);

  s.faults->AddRule(Fail(OpBit(StoreOp::kHead), Code::kPermissionDenied, -1));
  EXPECT_EQ(s.retry->Head("k").code(), Code::kPermissionDenied);
  EXPECT_EQ(s.faults->injected(), 1u);
  EXPECT_EQ(s.retry_impl->retries(), 0u);
}

TEST(RetryStoreTest, StopsWhenTotalTimeoutIsSpent) {
  auto mem = std::shared_ptr<MemStore>(MemStore::Open());
  auto faults = std::shared_ptr<FaultyStore>(FaultyStore::Open(mem, {}));
  faults->AddRule(FaultRule::Throttle());
  RetryStore::Options o;
  o.max_attempts = 1000;
  o.initial_backoff = std::chrono::milliseconds(20);
  o.max_backoff = std::chrono::milliseconds(20);
  o.total_timeout = std::chrono::milliseconds(1);
  o.seed = 7;
  auto r = RetryStore::Open(faults, o);
  ASSERT_TRUE(r.ok());
  Status st = (*r)->Delete("k");
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_LT(faults->injected(), 1000u);
}

// A store that stays down past the budget: the call ends at the budget (fake clock, no real
// waiting) with EIO's code and what was tried; one that returns within it succeeds.
TEST(RetryStoreTest, AnOutageIsBoundedByTheBudgetOnAFakeClock) {
  FakeClock clock;
  clock.set_auto_advance(true);
  auto mem = std::shared_ptr<MemStore>(MemStore::Open());
  auto faults = std::shared_ptr<FaultyStore>(FaultyStore::Open(mem, {}));
  faults->AddRule(Fail(OpBit(StoreOp::kPut), Code::kTimeout, -1));
  RetryStore::Options o;
  o.max_attempts = 1000000;
  o.total_timeout = std::chrono::seconds(30);
  o.clock = &clock;
  auto r = RetryStore::Open(faults, o);
  ASSERT_TRUE(r.ok());
  int64_t start = clock.MonotonicNanos();
  Status st = (*r)->Put("vol/chunks/0/0/7_0_4096", "x", {});
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_NE(st.ToString().find("put vol/chunks/0/0/7_0_4096"), std::string::npos);
  EXPECT_EQ(clock.MonotonicNanos() - start, 30LL * 1000000000LL);
  EXPECT_GT(faults->injected(), 10u);

  faults->ClearRules();
  faults->AddRule(Fail(OpBit(StoreOp::kPut), Code::kUnavailable, 4));
  EXPECT_TRUE((*r)->Put("k", "x", {}).ok());
  EXPECT_EQ(*mem->Get("k", 0, -1), "x");
}

TEST(RetryStoreTest, RejectsBadOptions) {
  RetryStore::Options o;
  o.max_attempts = 0;
  EXPECT_EQ(RetryStore::Open(MemStore::Open(), o).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace strata::object
