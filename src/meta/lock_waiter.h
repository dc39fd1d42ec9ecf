// LockWaiter: the one lock-wait loop of StrataFS (STYLE.md "Mend"), used by Meta::Flock and
// Meta::SetLk for blocking requests (the FUSE layer and the VFS pass `block` down instead of
// looping themselves).
//
// Wait runs one attempt (a transaction that takes the lock or reports a conflict) and, while
// the lock is held elsewhere, waits and tries again. The KV interface has no watch, so the
// wait is a back-off on the Clock (common/backoff.h: 1 ms doubling to 100 ms, jittered): no
// busy spin, and a release by another mount is noticed within about 100 ms. A release in
// this client (Notify) ends every wait at once. There is no deadlock detection across mounts
// (EDEADLK is never returned): a waiter gives up only when `interrupted` says so (polled
// between attempts: the kernel interrupted the request) or when the waits are cancelled (the
// session or the Meta is closing); both return kInterrupted. No lock or transaction is held
// while waiting. Waiting goes through Clock::WaitFor, so a FakeClock drives it in tests.
//
// Thread-safety: all methods may be called from many threads; each Wait runs on its
// caller's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "common/clock.h"
#include "common/status.h"

namespace strata::meta {

class LockWaiter {
 public:
  explicit LockWaiter(Clock* clock) : clock_(clock) {}  // not owned

  // Runs `attempt` until it succeeds without a conflict (*conflict false): returns OK, or
  // attempt's error at once. With block false a conflict gives kWouldBlock after one attempt.
  Status Wait(const std::function<Status(bool* conflict)>& attempt, bool block,
              const std::function<bool()>& interrupted);
  // A lock was released or downgraded in this client: every waiter tries again now.
  void Notify();
  // Waits in progress and later ones give up with kInterrupted, until Resume.
  void Cancel();
  void Resume();

 private:
  Clock* const clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // GUARDED_BY(mu_)
  uint64_t releases_ = 0;   // GUARDED_BY(mu_): Notify calls, so a waiter sees one it missed
};

}  // namespace strata::meta
