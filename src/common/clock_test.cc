#include "common/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

}  // namespace
}  // namespace strata
