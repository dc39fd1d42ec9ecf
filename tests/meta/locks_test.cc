// flock and fcntl locks on every engine, between two clients (two mounts) of one volume.
// Each client runs on its own FakeClock, so a blocked request's retries happen only when the
// test advances that client's clock (Meta's LockWaiter waits on it): no real-time waits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "common/clock.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class LocksTest : public MetaTest {
 protected:
  void SetUp() override {
    MetaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    a_ = Client(&clock_a_);
    b_ = Client(&clock_b_);
    ASSERT_TRUE(a_ && b_);
    f_ = MustCreate(kRootIno, "f");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    MetaTest::TearDown();
  }
  // A client with a session on `clock`; its heartbeat thread waits on that clock too.
  std::unique_ptr<Meta> Client(Clock* clock) {
    MetaOptions o;
    o.heartbeat_seconds = 3600;
    o.session_expiry_seconds = 7200;
    o.background_jobs = false;
    o.clock = clock;
    auto m = OpenClient(o);
    if (m) {
      EXPECT_TRUE(m->NewSession(SessionInfo{}).ok());
    }
    return m;
  }
  static LockRange R(LockType t, uint64_t start, uint64_t end, uint32_t pid = 0) {
    return LockRange{t, start, end, pid};
  }
  // Threads of client b waiting on its clock: its heartbeat thread plus `waiters` lock waits.
  void WaitForLockWaiters(int waiters) { clock_b_.WaitForSleepers(1 + waiters); }

  FakeClock clock_a_, clock_b_;  // declared first: they outlive the clients
  std::unique_ptr<Meta> a_, b_;
  Ino f_ = 0;
};

TEST_P(LocksTest, FlockConflictsAcrossClients) {
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  EXPECT_EQ(b_->Flock(Root(), f_, 1, LockType::kRead, false).code(), Code::kWouldBlock);
  // Another owner in the same client conflicts too; the same owner may re-lock.
  EXPECT_EQ(a_->Flock(Root(), f_, 2, LockType::kRead, false).code(), Code::kWouldBlock);
  EXPECT_TRUE(a_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  // Downgrade to shared: readers elsewhere may join, writers not.
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kRead, false).ok());
  EXPECT_TRUE(b_->Flock(Root(), f_, 1, LockType::kRead, false).ok());
  EXPECT_EQ(b_->Flock(Root(), f_, 1, LockType::kWrite, false).code(), Code::kWouldBlock);
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kUnlock, false).ok());
  EXPECT_TRUE(b_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());  // upgrade when alone
  EXPECT_EQ(a_->Flock(Root(), 99999, 1, LockType::kWrite, false).code(), Code::kNotFound);
}

// Longer than any back-off wait of the lock-wait loop (100 ms at most).
constexpr auto kPastAnyWait = std::chrono::milliseconds(101);

// A blocked request waits on its client's clock; a release by another client is noticed at
// the next retry, after the back-off wait.
TEST_P(LocksTest, BlockingFlockWaitsForTheOtherClient) {
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  std::atomic<bool> granted{false};
  Status result;
  std::thread waiter([&] {
    result = b_->Flock(Root(), f_, 7, LockType::kWrite, true);
    granted = true;
  });
  WaitForLockWaiters(1);
  EXPECT_FALSE(granted) << "granted while another client held the lock";
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kUnlock, false).ok());
  clock_b_.Advance(kPastAnyWait);
  waiter.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(a_->Flock(Root(), f_, 1, LockType::kRead, false).code(), Code::kWouldBlock);
}

// A release in the same client ends the wait at once, without the clock moving.
TEST_P(LocksTest, LocalReleaseWakesAWaiterAtOnce) {
  ASSERT_TRUE(b_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  const int64_t start = clock_b_.MonotonicNanos();
  auto waiting = std::async(std::launch::async,
                            [&] { return b_->Flock(Root(), f_, 2, LockType::kWrite, true); });
  WaitForLockWaiters(1);
  ASSERT_TRUE(b_->Flock(Root(), f_, 1, LockType::kUnlock, false).ok());
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "the local release did not wake the waiter";
  EXPECT_TRUE(waiting.get().ok());
  EXPECT_EQ(clock_b_.MonotonicNanos(), start);
  EXPECT_EQ(a_->Flock(Root(), f_, 1, LockType::kRead, false).code(), Code::kWouldBlock);
}

TEST_P(LocksTest, InterruptedAndClosedWaitsGiveUp) {
  ASSERT_TRUE(a_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  std::atomic<bool> stop{false};
  Status result;
  std::thread waiter([&] {
    result = b_->Flock(Root(), f_, 7, LockType::kWrite, true, [&] { return stop.load(); });
  });
  WaitForLockWaiters(1);
  stop = true;  // polled before each retry
  clock_b_.Advance(kPastAnyWait);
  waiter.join();
  EXPECT_EQ(result.code(), Code::kInterrupted);
  // A wait also ends when its client closes the session, at once.
  ASSERT_TRUE(a_->SetLk(Root(), f_, 1, R(LockType::kWrite, 0, 10), false).ok());
  std::thread waiter2([&] { result = b_->SetLk(Root(), f_, 7, R(LockType::kWrite, 0, 0), true); });
  WaitForLockWaiters(1);
  ASSERT_TRUE(b_->CloseSession().ok());
  waiter2.join();
  EXPECT_EQ(result.code(), Code::kInterrupted) << result.ToString();
}

TEST_P(LocksTest, PosixRangesConflictSplitAndReport) {
  ASSERT_TRUE(a_->SetLk(Root(), f_, 1, R(LockType::kWrite, 0, 99, 11), false).ok());
  auto probe = b_->GetLk(Root(), f_, 1, R(LockType::kRead, 50, 60));
  ASSERT_TRUE(probe.ok());
  EXPECT_EQ(probe->type, LockType::kWrite);
  EXPECT_EQ(probe->start, 0u);
  EXPECT_EQ(probe->end, 99u);
  EXPECT_EQ(probe->pid, 11u);
  // The holder itself sees no conflict.
  EXPECT_EQ(a_->GetLk(Root(), f_, 1, R(LockType::kWrite, 0, 10))->type, LockType::kUnlock);
  EXPECT_TRUE(b_->SetLk(Root(), f_, 1, R(LockType::kRead, 100, 199, 22), false).ok());
  EXPECT_EQ(b_->SetLk(Root(), f_, 1, R(LockType::kRead, 99, 99), false).code(), Code::kWouldBlock);
  // Unlock of a sub-range splits a's lock; b may lock the hole only.
  ASSERT_TRUE(a_->SetLk(Root(), f_, 1, R(LockType::kUnlock, 40, 59), false).ok());
  EXPECT_TRUE(b_->SetLk(Root(), f_, 1, R(LockType::kWrite, 40, 59, 22), false).ok());
  EXPECT_EQ(b_->SetLk(Root(), f_, 1, R(LockType::kWrite, 30, 45), false).code(), Code::kWouldBlock);
  EXPECT_EQ(b_->GetLk(Root(), f_, 1, R(LockType::kWrite, 60, 70))->start, 60u);
  // Read locks share; a write probe reports the reader.
  EXPECT_EQ(a_->GetLk(Root(), f_, 1, R(LockType::kRead, 150, 160))->type, LockType::kUnlock);
  auto w = a_->GetLk(Root(), f_, 1, R(LockType::kWrite, 150, UINT64_MAX));
  EXPECT_EQ(w->type, LockType::kRead);
  EXPECT_EQ(w->pid, 22u);
  EXPECT_EQ(a_->SetLk(Root(), f_, 1, R(LockType::kWrite, 5, 1), false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(a_->GetLk(Root(), f_, 1, R(LockType::kUnlock, 0, 1)).code(), Code::kInvalidArgument);
}

// ReleaseLocks (close of a file) drops the owner's flock and POSIX locks and wakes this
// client's waiters at once.
TEST_P(LocksTest, ReleaseLocksWakesABlockedPosixWaiter) {
  ASSERT_TRUE(b_->SetLk(Root(), f_, 1, R(LockType::kWrite, 0, UINT64_MAX), false).ok());
  ASSERT_TRUE(b_->Flock(Root(), f_, 1, LockType::kWrite, false).ok());
  auto waiting = std::async(std::launch::async, [&] {
    return b_->SetLk(Root(), f_, 5, R(LockType::kWrite, 1000, 2000), true);
  });
  WaitForLockWaiters(1);
  ASSERT_TRUE(b_->ReleaseLocks(f_, 1).ok());
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Status result = waiting.get();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_TRUE(a_->Flock(Root(), f_, 5, LockType::kWrite, false).ok());  // flock went too
}

// Threads of two clients take one exclusive flock in turn: never two holders at once.
// On the system clock: waiters of one client are woken by the other's releases only through
// their back-off retries, which need time to pass.
TEST_P(LocksTest, ExclusiveFlockIsExclusiveUnderContention) {
  auto a = Client(SystemClock::Get());
  auto b = Client(SystemClock::Get());
  ASSERT_TRUE(a && b);
  std::atomic<int> holders{0}, max_holders{0}, rounds{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Meta& m = t % 2 ? *a : *b;
      for (int i = 0; i < 5; i++) {
        Status s = m.Flock(Root(), f_, 100 + t, LockType::kWrite, true);
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          return;
        }
        int h = ++holders;
        int prev = max_holders.load();
        while (h > prev && !max_holders.compare_exchange_weak(prev, h)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        --holders;
        rounds++;
        EXPECT_TRUE(m.Flock(Root(), f_, 100 + t, LockType::kUnlock, false).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(rounds, 20);
  EXPECT_EQ(max_holders, 1);
}

STRATA_META_INSTANTIATE(LocksTest);

}  // namespace
}  // namespace strata::meta::testing
