// LockWaiter (lock_waiter.h): the lock-wait loop.
#include "meta/lock_waiter.h"

#include "common/backoff.h"

namespace strata::meta {
namespace {

constexpr BackoffPolicy kLockWait{
    .initial = std::chrono::milliseconds(1), .max = std::chrono::milliseconds(100), .jitter = 0.5};

Status Cancelled() { return Status(Code::kInterrupted, "session closed while waiting for a lock"); }

}  // namespace

Status LockWaiter::Wait(const std::function<Status(bool* conflict)>& attempt, bool block,
                        const std::function<bool()>& interrupted) {
  // No deadline: a lock wait ends when granted, interrupted or cancelled (see the header).
  Backoff backoff(kLockWait, clock_, Deadline::Never());
  while (true) {
    uint64_t seen;
    {
      std::lock_guard lock(mu_);
      seen = releases_;  // read before the attempt: a release during it ends the next wait
    }
    bool conflict = false;
    RETURN_IF_ERROR(attempt(&conflict));
    if (!conflict) return Status::OK();
    if (!block) return Status(Code::kWouldBlock, "lock held by another owner");
    if (interrupted && interrupted()) return Status(Code::kInterrupted, "lock wait interrupted");
    std::unique_lock lock(mu_);
    if (cancelled_) return Cancelled();
    clock_->WaitFor(lock, cv_, backoff.NextWait(), [&] { return cancelled_ || releases_ != seen; });
    if (cancelled_) return Cancelled();
  }
}

void LockWaiter::Notify() {
  {
    std::lock_guard lock(mu_);
    releases_++;
  }
  cv_.notify_all();
}

void LockWaiter::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

void LockWaiter::Resume() {
  std::lock_guard lock(mu_);
  cancelled_ = false;
}

}  // namespace strata::meta
