// ThreadPool: a fixed set of worker threads fed from a bounded FIFO queue. This is the one
// executor model of StrataFS (DESIGN.md "Threads"): Mount owns one pool per job kind
// (uploads, downloads/prefetch, background metadata, cache maintenance), and the bound gives
// back-pressure instead of unbounded memory when producers outrun the workers.
//
//   Submit      blocks while the queue is full, then enqueues.
//   TrySubmit   never blocks: kBusy when the queue is full.
//   SubmitWithFuture  as Submit, and returns a std::future for the task's result (an
//               exception thrown by the task is delivered through the future).
//   Shutdown    stops accepting (later submits get kCancelled, blocked submitters wake with
//               kCancelled), runs every task already queued, then joins the workers.
//
// A task must not throw; if one does, the exception is logged (error, with the pool's name)
// and counted in failed_tasks() so that one bad task cannot kill the process
// (SubmitWithFuture tasks deliver theirs through the future instead). A task whose result
// somebody waits for (an upload that close() waits on) runs its work inside RunCatching, so
// the waiter gets an error instead of waiting for ever.
//
// Thread-safety: every method may be called from any thread, except that Shutdown() and the
// destructor must not be called from a task of this pool (they join its threads), and a task
// that Submit()s to its own full pool can deadlock: use TrySubmit there.
// Errors: kInvalidArgument from Open for bad options; kCancelled after shutdown; kBusy.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "common/status.h"

namespace strata {

struct ThreadPoolOptions {
  std::string name = "pool";     // names the pool in errors
  int threads = 4;               // worker threads, 1..1024
  size_t queue_capacity = 1024;  // tasks waiting to run (not counting running ones), >= 1
  Status Validate() const;
};

class ThreadPool {
 public:
  static Result<std::unique_ptr<ThreadPool>> Open(const ThreadPoolOptions& options);
  ~ThreadPool();  // Shutdown()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  Status Submit(std::function<void()> task);
  Status TrySubmit(std::function<void()> task);

  template <typename F>
  Result<std::future<std::invoke_result_t<F>>> SubmitWithFuture(F&& f) {
    using R = std::invoke_result_t<F>;
    // std::function needs a copyable callable; packaged_task is move-only.
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> future = task->get_future();
    RETURN_IF_ERROR(Submit([task] { (*task)(); }));
    return future;
  }

  void Shutdown();

  size_t queued() const;  // tasks waiting
  int threads() const { return static_cast<int>(workers_.size()); }
  uint64_t failed_tasks() const;

 private:
  explicit ThreadPool(const ThreadPoolOptions& options);
  Status Enqueue(std::function<void()>& task, bool wait);
  void WorkerLoop();

  const ThreadPoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool shutting_down_ = false;               // guarded by mu_
  uint64_t failed_ = 0;                      // guarded by mu_
  std::vector<std::thread> workers_;
  std::once_flag joined_;
};

// Runs fn and returns its Status; an exception escaping fn (bad_alloc in a codec, a bug)
// becomes kIOError "WHAT: unexpected exception: ..." and one error log line, so the caller's
// bookkeeping (counting a finished upload, waking a waiter) still runs.
Status RunCatching(std::string_view what, const std::function<Status()>& fn);

}  // namespace strata
