#include "common/backoff.h"

#include <algorithm>
#include <cstdio>

namespace strata {

using std::chrono::nanoseconds;

Deadline Deadline::After(const Clock& clock, nanoseconds budget) {
  int64_t now = clock.MonotonicNanos();
  int64_t b = budget.count();
  if (b >= kNever - now) return Never();
  return Deadline(now + b);
}

nanoseconds Deadline::Remaining(const Clock& clock) const {
  if (is_never()) return nanoseconds(kNever);
  int64_t left = at_ - clock.MonotonicNanos();
  return nanoseconds(left > 0 ? left : 0);
}

int64_t Deadline::RemainingMillis(const Clock& clock, int64_t cap_ms) const {
  if (is_never()) return cap_ms;
  int64_t left = Remaining(clock).count();
  if (left <= 0) return 0;
  int64_t ms = std::max<int64_t>(1, (left + 999999) / 1000000);
  return std::min(ms, cap_ms);
}

Status BackoffPolicy::Validate() const {
  if (initial.count() < 0) return Status::InvalidArgument("back-off initial wait must be >= 0");
  if (max < initial) return Status::InvalidArgument("back-off max wait must be >= initial");
  if (!(jitter >= 0 && jitter <= 1)) {
    return Status::InvalidArgument("back-off jitter must be between 0 and 1");
  }
  return Status::OK();
}

Backoff::Backoff(const BackoffPolicy& policy, Clock* clock, Deadline deadline, uint64_t seed)
    : policy_(policy),
      clock_(clock),
      deadline_(deadline),
      start_(clock->MonotonicNanos()),
      next_(policy.initial),
      seed_(seed) {}

nanoseconds Backoff::NextDelay() {
  nanoseconds d = std::min(next_, policy_.max);
  next_ = std::min(policy_.max, next_.count() > 0 ? next_ * 2 : policy_.max);
  retries_++;
  if (d.count() <= 0 || policy_.jitter <= 0) return d;
  if (!seeded_) {
    rng_.seed(static_cast<std::minstd_rand::result_type>(seed_ ? seed_ : std::random_device{}()));
    seeded_ = true;
  }
  auto fixed = static_cast<int64_t>(static_cast<double>(d.count()) * (1.0 - policy_.jitter));
  std::uniform_int_distribution<int64_t> dist(fixed, d.count());
  return nanoseconds(dist(rng_));
}

nanoseconds Backoff::NextWait() {
  if (Expired()) return nanoseconds(0);
  nanoseconds d = NextDelay();
  return std::min(d, deadline_.Remaining(*clock_));
}

bool Backoff::Wait() {
  if (Expired()) return false;
  nanoseconds d = NextWait();
  if (d.count() > 0) clock_->SleepFor(d);
  return !Expired();  // an attempt started at the deadline could only fail for lack of time
}

nanoseconds Backoff::Elapsed() const { return nanoseconds(clock_->MonotonicNanos() - start_); }

Status Backoff::GiveUp(const Status& last, std::string_view what) const {
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.1fs", static_cast<double>(Elapsed().count()) / 1e9);
  int attempts = retries_ + 1;
  std::string msg = "gave up on " + std::string(what) + " after " + std::to_string(attempts) +
                    (attempts == 1 ? " attempt" : " attempts") + " in " + secs;
  if (last.Is(Code::kUnavailable) || last.Is(Code::kTimeout)) {
    return Status(Code::kUnavailable, msg + ": " + last.ToString());
  }
  return last.WithContext(msg);
}

}  // namespace strata
