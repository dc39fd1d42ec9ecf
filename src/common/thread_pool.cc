#include "common/thread_pool.h"

#include <exception>
#include <new>

#include "common/logging.h"

namespace strata {

Status ThreadPoolOptions::Validate() const {
  if (threads < 1 || threads > 1024) {
    return Status::InvalidArgument("thread pool '" + name + "': threads must be 1..1024, got " +
                                   std::to_string(threads));
  }
  if (queue_capacity < 1) {
    return Status::InvalidArgument("thread pool '" + name + "': queue capacity must be >= 1");
  }
  return Status::OK();
}

Result<std::unique_ptr<ThreadPool>> ThreadPool::Open(const ThreadPoolOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<ThreadPool>(new ThreadPool(options));
}

ThreadPool::ThreadPool(const ThreadPoolOptions& options) : options_(options) {
  workers_.reserve(options.threads);
  for (int i = 0; i < options.threads; i++) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() { Shutdown(); }

Status ThreadPool::Submit(std::function<void()> task) { return Enqueue(task, true); }
Status ThreadPool::TrySubmit(std::function<void()> task) { return Enqueue(task, false); }

Status ThreadPool::Enqueue(std::function<void()>& task, bool wait) {
  std::unique_lock lock(mu_);
  if (wait) {
    not_full_.wait(lock, [&] { return shutting_down_ || queue_.size() < options_.queue_capacity; });
  }
  if (shutting_down_) {
    return Status(Code::kCancelled, "thread pool '" + options_.name + "' is shut down");
  }
  if (queue_.size() >= options_.queue_capacity) {
    return Status(Code::kBusy, "thread pool '" + options_.name + "' queue is full (" +
                                   std::to_string(options_.queue_capacity) + " tasks)");
  }
  queue_.push_back(std::move(task));
  lock.unlock();
  not_empty_.notify_one();
  return Status::OK();
}

void ThreadPool::WorkerLoop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      not_empty_.wait(lock, [&] { return shutting_down_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shutting down and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    not_full_.notify_one();
    try {
      task();
    } catch (const std::exception& e) {
      // Logged and counted, not rethrown: an escaped exception would terminate the whole
      // mount. Tasks whose caller waits for a result wrap their work in RunCatching, so this
      // is the last line of defence.
      LOG_ERROR("thread pool '{}': a task threw: {}", options_.name, e.what());
      std::lock_guard lock(mu_);
      failed_++;
    } catch (...) {
      LOG_ERROR("thread pool '{}': a task threw a non-standard exception", options_.name);
      std::lock_guard lock(mu_);
      failed_++;
    }
  }
}

Status RunCatching(std::string_view what, const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    LOG_ERROR("{}: out of memory", what);
    return Status::IOError(std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    LOG_ERROR("{}: unexpected exception: {}", what, e.what());
    return Status::IOError(std::string(what) + ": unexpected exception: " + e.what());
  } catch (...) {
    LOG_ERROR("{}: unexpected non-standard exception", what);
    return Status::IOError(std::string(what) + ": unexpected exception");
  }
}

void ThreadPool::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  std::call_once(joined_, [this] {
    for (auto& t : workers_) t.join();
  });
}

size_t ThreadPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

uint64_t ThreadPool::failed_tasks() const {
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace strata
