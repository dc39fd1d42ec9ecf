// Deadline and Backoff: the one retry policy of StrataFS (STYLE.md "Mend": retries bounded
// by time, one back-off helper, one wait loop). Every retry loop — the KV transaction loop,
// the object-store retry wrapper, lock waits, background jobs — is written as
//
//   Backoff b(policy, clock, Deadline::After(*clock, budget));
//   while (true) {
//     Status s = Try();
//     if (s.ok() || !s.IsRetryable()) return s;
//     if (!b.Wait()) return b.GiveUp(s, "put vol/x");   // budget spent: a clear error
//   }
//
// Deadline is a point in a Clock's monotonic time (or never). Backoff yields jittered,
// exponentially growing waits (initial, x2 each retry, capped at max; the random part is the
// lower `jitter` fraction of each wait, so waits keep their order of magnitude while colliding
// retries spread apart) and never sleeps past its deadline.
//
// Thread-safety: Deadline and BackoffPolicy are values. A Backoff object belongs to one retry
// sequence on one thread; its random source is its own.
// Errors: BackoffPolicy::Validate -> kInvalidArgument naming the field. GiveUp turns a last
// kUnavailable/kTimeout into kUnavailable (EIO at the FUSE edge) and keeps other codes (a
// conflict storm stays kConflict), with the attempt count and elapsed time in the message.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace strata {

class Deadline {
 public:
  // No deadline: Expired() is never true, Remaining() is effectively infinite.
  static Deadline Never() { return Deadline(kNever); }
  // `budget` from now on `clock`'s monotonic time. A budget <= 0 is already expired.
  static Deadline After(const Clock& clock, std::chrono::nanoseconds budget);
  // The earlier of two deadlines.
  static Deadline Min(const Deadline& a, const Deadline& b) {
    return Deadline(a.at_ < b.at_ ? a.at_ : b.at_);
  }

  bool is_never() const { return at_ == kNever; }
  bool Expired(const Clock& clock) const { return !is_never() && clock.MonotonicNanos() >= at_; }
  // Time left (0 when expired; a very large value for Never()).
  std::chrono::nanoseconds Remaining(const Clock& clock) const;
  // Remaining() in whole milliseconds, at least 1 unless expired, clamped to `cap_ms`: what a
  // socket or library timeout should be set to for one call under this deadline.
  int64_t RemainingMillis(const Clock& clock, int64_t cap_ms) const;
  int64_t at_nanos() const { return at_; }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  explicit Deadline(int64_t at) : at_(at) {}
  int64_t at_;
};

struct BackoffPolicy {
  std::chrono::nanoseconds initial = std::chrono::milliseconds(1);  // first wait
  std::chrono::nanoseconds max = std::chrono::seconds(1);           // cap of any wait
  double jitter = 0.5;  // 0..1: fraction of each wait that is random (0.5: uniform [d/2, d])
  Status Validate() const;
};

class Backoff {
 public:
  // `clock` is not owned and must outlive the Backoff. `seed` 0: seeded at random on the first
  // wait (a sequence that never retries costs nothing).
  Backoff(const BackoffPolicy& policy, Clock* clock, Deadline deadline, uint64_t seed = 0);

  // The next wait, advancing the sequence (not clipped to the deadline).
  std::chrono::nanoseconds NextDelay();
  // Sleeps the next delay, clipped to the deadline. false when the deadline has passed (before
  // or by the end of this wait): the caller should give up, with the error it has, rather than
  // try once more with no time left.
  bool Wait();
  // The wait Wait() would make, clipped to the deadline, for callers that wait on a condition
  // variable instead of sleeping (so a local event can end the wait early). 0 when expired.
  std::chrono::nanoseconds NextWait();

  // Retries so far (Wait/NextWait calls), and time since construction.
  int retries() const { return retries_; }
  std::chrono::nanoseconds Elapsed() const;
  const Deadline& deadline() const { return deadline_; }
  bool Expired() const { return deadline_.Expired(*clock_); }

  // The error to return when giving up on `what` after `last`: kUnavailable/kTimeout become
  // kUnavailable "gave up on WHAT after N attempts in Xs: <last>", others keep their code.
  Status GiveUp(const Status& last, std::string_view what) const;

 private:
  BackoffPolicy policy_;
  Clock* clock_;
  Deadline deadline_;
  int64_t start_;
  std::chrono::nanoseconds next_;
  int retries_ = 0;
  uint64_t seed_;
  bool seeded_ = false;
  std::minstd_rand rng_;
};

}  // namespace strata
