// Clock: the one source of time for StrataFS code (DESIGN.md "Interfaces"), so that TTLs,
// heartbeats, back-off and cache ageing can be tested without waiting.
//
//   SystemClock  real time: CLOCK_REALTIME for NowNanos, CLOCK_MONOTONIC for MonotonicNanos.
//   FakeClock    time moves only when a test calls Advance(). SleepFor() on a FakeClock BLOCKS
//                the calling thread until other threads have advanced the monotonic time to at
//                least (time at the call + duration); a zero or negative duration returns at
//                once. WaitForSleepers(n) lets a test wait until n threads are blocked in
//                SleepFor before it advances, so tests need no real sleeps. With
//                set_auto_advance(true), SleepFor instead advances the clock by the duration
//                and returns at once (a retry loop then runs through its whole time budget
//                in microseconds of real time).
//
// WaitFor is the condition-variable form of SleepFor, for waits that other threads may end
// early (a background loop told to stop, a lock waiter woken by a local unlock): on a
// SystemClock it is std::condition_variable::wait_for; on a FakeClock the waiter wakes when
// the caller's condition variable is notified OR when Advance moves the time past its
// deadline (Advance notifies every such waiter), and it counts as a sleeper for
// WaitForSleepers. So loops written with it are driven by the test's Advance calls, without
// real sleeps and without a real-time poll.
//
// Thread-safety: every method of both clocks may be called from any thread.
// Errors: none.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>

namespace strata {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, nanoseconds since the Unix epoch (for mtimes and expiry records).
  virtual int64_t NowNanos() const = 0;
  // Monotonic time in nanoseconds from an arbitrary origin (for durations and deadlines).
  virtual int64_t MonotonicNanos() const = 0;
  // Blocks the calling thread for `d` of this clock's monotonic time.
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
  // REQUIRES: `lock` holds the mutex that guards what `pred` reads. Waits on `cv` until
  // `pred()` is true or `d` of this clock's monotonic time has passed, as
  // std::condition_variable::wait_for does; returns pred(). `lock` is held again on return.
  // Other threads end the wait early by changing what pred reads (under that mutex) and
  // notifying `cv`.
  virtual bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                       std::chrono::nanoseconds d, const std::function<bool()>& pred) = 0;
};

class SystemClock final : public Clock {
 public:
  // A process-wide instance. It holds no state, so sharing it is not a mutable global.
  static SystemClock* Get();

  int64_t NowNanos() const override;
  int64_t MonotonicNanos() const override;
  void SleepFor(std::chrono::nanoseconds d) override;
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::nanoseconds d, const std::function<bool()>& pred) override;
};

class FakeClock final : public Clock {
 public:
  // Starts at the given wall time (default 2024-01-01T00:00:00Z) and monotonic time.
  explicit FakeClock(int64_t wall_nanos = 1704067200LL * 1000000000LL, int64_t mono_nanos = 0);

  int64_t NowNanos() const override;
  int64_t MonotonicNanos() const override;
  void SleepFor(std::chrono::nanoseconds d) override;
  // With auto-advance: when pred() is false, advances the clock by `d` and returns pred().
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::nanoseconds d, const std::function<bool()>& pred) override;

  // Moves both wall and monotonic time forward by `d` (REQUIRES: d >= 0) and wakes sleepers
  // whose deadline has passed, and every WaitFor waiter (which re-checks its deadline).
  // REQUIRES: the caller holds no mutex that a WaitFor waiter of this clock waits with.
  void Advance(std::chrono::nanoseconds d);
  // Sets the wall time alone (it may jump backwards, as a real wall clock may).
  void SetWallNanos(int64_t wall_nanos);
  // Blocks until at least `n` threads are inside SleepFor or WaitFor.
  void WaitForSleepers(int n);
  int sleepers() const;
  void set_auto_advance(bool on);
  // Total time slept through SleepFor (both modes; WaitFor not counted), for tests of
  // back-off.
  std::chrono::nanoseconds slept() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t wall_;
  int64_t mono_;
  int sleepers_ = 0;
  bool auto_advance_ = false;
  int64_t slept_ = 0;
  // WaitFor waiters, notified by Advance. Advance notifies them without holding mu_ (a
  // waiter takes mu_ while holding its own mutex); `notifying_` counts Advance calls doing
  // so, and a waiter leaves only when it is 0, so no Advance touches a finished waiter.
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
  };
  std::set<Waiter*> waiters_;
  int notifying_ = 0;
  std::condition_variable idle_cv_;  // notifying_ reached 0
};

}  // namespace strata
