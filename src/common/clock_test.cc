#include "common/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace strata {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SystemClockTest, WallIsNearTimeAndMonotonicNeverGoesBack) {
  SystemClock* c = SystemClock::Get();
  int64_t wall = c->NowNanos();
  EXPECT_GT(wall, 1700000000LL * 1000000000LL);  // after Nov 2023
  int64_t a = c->MonotonicNanos();
  c->SleepFor(milliseconds(1));
  int64_t b = c->MonotonicNanos();
  EXPECT_GE(b - a, 1000000);  // slept at least the asked duration
}

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock c(/*wall_nanos=*/1000, /*mono_nanos=*/5);
  EXPECT_EQ(c.NowNanos(), 1000);
  EXPECT_EQ(c.MonotonicNanos(), 5);
  c.Advance(seconds(2));
  EXPECT_EQ(c.NowNanos(), 1000 + 2000000000LL);
  EXPECT_EQ(c.MonotonicNanos(), 5 + 2000000000LL);
  c.SetWallNanos(7);  // wall may jump back; monotonic does not follow
  EXPECT_EQ(c.NowNanos(), 7);
  EXPECT_EQ(c.MonotonicNanos(), 5 + 2000000000LL);
}

TEST(FakeClockTest, ZeroSleepReturnsAtOnce) {
  FakeClock c;
  c.SleepFor(milliseconds(0));
  c.SleepFor(milliseconds(-3));
  EXPECT_EQ(c.sleepers(), 0);
}

TEST(FakeClockTest, SleepBlocksUntilAdvancedPastDeadline) {
  FakeClock c;
  std::atomic<bool> woke{false};
  std::thread t([&] {
    c.SleepFor(seconds(10));
    woke = true;
  });
  c.WaitForSleepers(1);
  c.Advance(seconds(9));
  // Still asleep: its deadline is 10 s. (The check after the join below proves it wakes.)
  EXPECT_FALSE(woke.load());
  EXPECT_EQ(c.sleepers(), 1);
  c.Advance(seconds(1));
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(c.sleepers(), 0);
}

TEST(FakeClockTest, ManySleepersWakeInDeadlineOrder) {
  FakeClock c;
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 1; i <= 3; i++) {
    threads.emplace_back([&, i] {
      c.SleepFor(seconds(i));
      woken++;
    });
  }
  c.WaitForSleepers(3);
  c.Advance(seconds(2));
  // Two deadlines passed: those two wake; the third stays asleep.
  while (woken.load() != 2) std::this_thread::yield();
  EXPECT_EQ(c.sleepers(), 1);
  c.Advance(seconds(1));
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken.load(), 3);
}

TEST(SystemClockTest, WaitForEndsOnNotifyOrTimeout) {
  SystemClock* c = SystemClock::Get();
  std::mutex mu;
  std::condition_variable cv;
  bool flag = false;
  std::unique_lock lock(mu);
  EXPECT_FALSE(c->WaitFor(lock, cv, milliseconds(1), [&] { return flag; }));  // timed out
  std::thread t([&] {
    std::lock_guard g(mu);
    flag = true;
    cv.notify_all();
  });
  EXPECT_TRUE(c->WaitFor(lock, cv, seconds(600), [&] { return flag; }));
  lock.unlock();
  t.join();
}

// A FakeClock waiter ends either by its condition (notified, no time passing) or by Advance
// moving past its deadline; it counts as a sleeper meanwhile.
TEST(FakeClockTest, WaitForEndsByNotifyOrByAdvance) {
  FakeClock c;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::atomic<int> result{-1};
  std::thread t([&] {
    std::unique_lock lock(mu);
    result = c.WaitFor(lock, cv, seconds(10), [&] { return stop; }) ? 1 : 0;
  });
  c.WaitForSleepers(1);
  c.Advance(seconds(9));
  EXPECT_EQ(result.load(), -1);  // still waiting: its deadline is 10 s (the join proves waking)
  c.Advance(seconds(1));
  t.join();
  EXPECT_EQ(result.load(), 0);  // timed out on the fake clock
  EXPECT_EQ(c.sleepers(), 0);

  std::thread t2([&] {
    std::unique_lock lock(mu);
    result = c.WaitFor(lock, cv, seconds(10), [&] { return stop; }) ? 1 : 0;
  });
  c.WaitForSleepers(1);
  {
    std::lock_guard g(mu);
    stop = true;
  }
  cv.notify_all();
  t2.join();  // woken without any Advance
  EXPECT_EQ(result.load(), 1);
  EXPECT_EQ(c.MonotonicNanos(), 10'000'000'000);
}

// Many waiters sharing one mutex and condition variable, and Advance racing with them: each
// wakes once its own deadline has passed (no lost wake-up, no deadlock).
TEST(FakeClockTest, WaitForManyWaitersAndAdvancesRacing) {
  FakeClock c;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; i++) {
    threads.emplace_back([&] {
      std::unique_lock lock(mu);
      for (int round = 0; round < 50; round++) {
        c.WaitFor(lock, cv, milliseconds(3), [] { return false; });
      }
      done++;
    });
  }
  while (done.load() < 4) c.Advance(milliseconds(1));
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.sleepers(), 0);
}

TEST(FakeClockTest, WaitForWithAutoAdvanceReturnsAtOnce) {
  FakeClock c;
  c.set_auto_advance(true);
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  EXPECT_FALSE(c.WaitFor(lock, cv, seconds(5), [] { return false; }));
  EXPECT_EQ(c.MonotonicNanos(), 5'000'000'000);
  EXPECT_TRUE(c.WaitFor(lock, cv, seconds(5), [] { return true; }));
  EXPECT_EQ(c.MonotonicNanos(), 5'000'000'000);  // no wait when the condition holds
}

}  // namespace
}  // namespace strata
