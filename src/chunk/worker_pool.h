// WorkerPool: a fixed number of threads running queued tasks in FIFO order. Used for block
// uploads (--max-uploads), downloads/prefetch and compaction inside chunk/. (src/common had no
// executor when this was written; switch to it if one lands.)
//
// Thread-safety: Submit may be called from any thread, including from a task.
// The destructor runs every task already queued, then joins the threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strata::chunk {

class WorkerPool {
 public:
  // REQUIRES: threads >= 1.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);
  // Tasks queued and not yet started.
  size_t queued() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace strata::chunk
