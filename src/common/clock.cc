#include "common/clock.h"

#include <time.h>

#include <thread>
#include <vector>

namespace strata {

namespace {
int64_t ReadClock(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);  // cannot fail for these clock ids
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}
}  // namespace

SystemClock* SystemClock::Get() {
  static SystemClock clock;
  return &clock;
}

int64_t SystemClock::NowNanos() const { return ReadClock(CLOCK_REALTIME); }
int64_t SystemClock::MonotonicNanos() const { return ReadClock(CLOCK_MONOTONIC); }
void SystemClock::SleepFor(std::chrono::nanoseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

bool SystemClock::WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          std::chrono::nanoseconds d, const std::function<bool()>& pred) {
  return cv.wait_for(lock, d, pred);
}

FakeClock::FakeClock(int64_t wall_nanos, int64_t mono_nanos)
    : wall_(wall_nanos), mono_(mono_nanos) {}

int64_t FakeClock::NowNanos() const {
  std::lock_guard lock(mu_);
  return wall_;
}

int64_t FakeClock::MonotonicNanos() const {
  std::lock_guard lock(mu_);
  return mono_;
}

void FakeClock::SleepFor(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return;
  std::unique_lock lock(mu_);
  slept_ += d.count();
  if (auto_advance_) {
    mono_ += d.count();
    wall_ += d.count();
    cv_.notify_all();
    return;
  }
  int64_t deadline = mono_ + d.count();
  sleepers_++;
  cv_.notify_all();  // WaitForSleepers watches the count
  cv_.wait(lock, [&] { return mono_ >= deadline; });
  sleepers_--;
}

bool FakeClock::WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                        std::chrono::nanoseconds d, const std::function<bool()>& pred) {
  if (pred()) return true;
  if (d.count() <= 0) return false;
  Waiter self{lock.mutex(), &cv};
  int64_t deadline;
  {
    std::lock_guard g(mu_);
    if (auto_advance_) {
      mono_ += d.count();
      wall_ += d.count();
      cv_.notify_all();
      deadline = mono_;
    } else {
      deadline = mono_ + d.count();
      waiters_.insert(&self);
      sleepers_++;
      cv_.notify_all();  // WaitForSleepers watches the count
    }
  }
  // The time is read under the caller's mutex, and Advance takes that mutex after moving the
  // time and before notifying, so an Advance between the check and the wait is not missed.
  while (!pred() && MonotonicNanos() < deadline) cv.wait(lock);
  lock.unlock();  // leaving must not hold the caller's mutex: Advance may be waiting for it
  {
    std::unique_lock g(mu_);
    if (waiters_.erase(&self) > 0) sleepers_--;
    idle_cv_.wait(g, [&] { return notifying_ == 0; });
  }
  lock.lock();
  return pred();
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    if (d.count() > 0) {
      mono_ += d.count();
      wall_ += d.count();
    }
    cv_.notify_all();
    for (Waiter* w : waiters_) waiters.push_back(*w);
    notifying_++;
  }
  for (const Waiter& w : waiters) {
    { std::lock_guard g(*w.mu); }  // a waiter between its time check and its wait is in it now
    w.cv->notify_all();
  }
  std::lock_guard lock(mu_);
  if (--notifying_ == 0) idle_cv_.notify_all();
}

void FakeClock::SetWallNanos(int64_t wall_nanos) {
  std::lock_guard lock(mu_);
  wall_ = wall_nanos;
}

void FakeClock::WaitForSleepers(int n) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return sleepers_ >= n; });
}

void FakeClock::set_auto_advance(bool on) {
  std::lock_guard lock(mu_);
  auto_advance_ = on;
}

std::chrono::nanoseconds FakeClock::slept() const {
  std::lock_guard lock(mu_);
  return std::chrono::nanoseconds(slept_);
}

int FakeClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace strata
