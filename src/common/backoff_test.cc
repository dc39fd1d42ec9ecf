#include "common/backoff.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(DeadlineTest, NeverAndAfter) {
  FakeClock clock;
  Deadline never = Deadline::Never();
  EXPECT_TRUE(never.is_never());
  clock.Advance(seconds(1000000));
  EXPECT_FALSE(never.Expired(clock));
  EXPECT_EQ(never.RemainingMillis(clock, 5000), 5000);

  Deadline d = Deadline::After(clock, seconds(2));
  EXPECT_FALSE(d.Expired(clock));
  EXPECT_EQ(d.RemainingMillis(clock, 100000), 2000);
  EXPECT_EQ(d.RemainingMillis(clock, 500), 500);
  clock.Advance(milliseconds(1999));
  EXPECT_EQ(d.RemainingMillis(clock, 100000), 1);
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(d.Expired(clock));
  EXPECT_EQ(d.Remaining(clock).count(), 0);
  EXPECT_EQ(d.RemainingMillis(clock, 100000), 0);
  EXPECT_TRUE(Deadline::After(clock, nanoseconds(0)).Expired(clock));
  EXPECT_EQ(Deadline::Min(never, d).at_nanos(), d.at_nanos());
}

TEST(BackoffTest, GrowsDoublingToTheCapWithBoundedJitter) {
  FakeClock clock;
  BackoffPolicy p{.initial = milliseconds(10), .max = milliseconds(80), .jitter = 0.5};
  ASSERT_TRUE(p.Validate().ok());
  Backoff b(p, &clock, Deadline::Never(), /*seed=*/7);
  const int64_t caps[] = {10, 20, 40, 80, 80, 80};
  for (int64_t cap : caps) {
    nanoseconds d = b.NextDelay();
    EXPECT_LE(d, milliseconds(cap));
    EXPECT_GE(d, milliseconds(cap) / 2);
  }
  EXPECT_EQ(b.retries(), 6);
}

TEST(BackoffTest, NoJitterIsExact) {
  FakeClock clock;
  Backoff b({.initial = milliseconds(3), .max = milliseconds(5), .jitter = 0}, &clock,
            Deadline::Never());
  EXPECT_EQ(b.NextDelay(), milliseconds(3));
  EXPECT_EQ(b.NextDelay(), milliseconds(5));
  EXPECT_EQ(b.NextDelay(), milliseconds(5));
}

TEST(BackoffTest, WaitStopsAtTheDeadlineWithoutOversleeping) {
  FakeClock clock;
  clock.set_auto_advance(true);
  Backoff b({.initial = milliseconds(100), .max = seconds(1), .jitter = 0.5}, &clock,
            Deadline::After(clock, seconds(3)));
  int waits = 0;
  while (b.Wait()) waits++;
  EXPECT_GT(waits, 3);
  EXPECT_EQ(clock.slept(), seconds(3));  // the last wait is clipped to the deadline
  EXPECT_TRUE(b.Expired());
  EXPECT_FALSE(b.Wait());
}

TEST(BackoffTest, GiveUpNamesWhatAndTurnsRetryableIntoUnavailable) {
  FakeClock clock;
  clock.set_auto_advance(true);
  Backoff b({}, &clock, Deadline::After(clock, milliseconds(5)));
  while (b.Wait()) {
  }
  Status s = b.GiveUp(Status::Timeout("redis 127.0.0.1:1 read"), "txn");
  EXPECT_TRUE(s.Is(Code::kUnavailable));
  EXPECT_NE(s.message().find("gave up on txn after"), std::string_view::npos);
  EXPECT_NE(s.message().find("redis 127.0.0.1:1 read"), std::string_view::npos);
  Status kept = b.GiveUp(Status::NotFound("x"), "get");
  EXPECT_TRUE(kept.Is(Code::kNotFound));
}

TEST(BackoffTest, ValidateRejectsBadPolicies) {
  EXPECT_FALSE((BackoffPolicy{.initial = milliseconds(5), .max = milliseconds(1)}).Validate().ok());
  EXPECT_FALSE((BackoffPolicy{.jitter = 1.5}).Validate().ok());
  EXPECT_FALSE((BackoffPolicy{.initial = milliseconds(-1)}).Validate().ok());
}

}  // namespace
}  // namespace strata
