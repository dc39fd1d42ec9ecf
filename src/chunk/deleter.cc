#include "chunk/deleter.h"
#include "common/logging.h"

namespace strata::chunk {

Deleter::Deleter(meta::SliceLog* meta, BlockStore* blocks) : meta_(meta), blocks_(blocks) {}

Deleter::~Deleter() { Stop(); }

void Deleter::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Deleter::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

Result<int> Deleter::Drain(std::chrono::milliseconds bound, int batch) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  Stop();  // no background pass racing the last ones
  int total = 0;
  for (;;) {
    int files = 0;
    ASSIGN_OR_RETURN(int n, Pass(batch, &files));
    total += n;
    // A pass that found no deleted file to expand and no pending slice: done.
    if ((n == 0 && files == 0) || std::chrono::steady_clock::now() >= deadline) return total;
  }
}

Result<int> Deleter::RunOnce(int limit) {
  int files = 0;
  return Pass(limit, &files);
}

Result<int> Deleter::Pass(int limit, int* files) {
  ASSIGN_OR_RETURN(*files, meta_->ProcessDeletedFiles(limit));
  ASSIGN_OR_RETURN(auto pending, meta_->PendingSliceDeletions(limit));
  int done = 0;
  for (const meta::SliceRef& ref : pending) {
    // Blocks first, confirmation second: a crash in between leaves the slice pending and the
    // next pass deletes (nothing) and confirms it.
    RETURN_IF_ERROR(blocks_->DeleteSlice(ref.id, ref.size));
    RETURN_IF_ERROR(meta_->ConfirmSliceDeleted(ref));
    done++;
    std::lock_guard lock(mu_);
    deleted_++;
  }
  return done;
}

void Deleter::Start(std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  started_ = true;
  thread_ = std::thread([this, interval] { Loop(interval); });
}

void Deleter::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void Deleter::Loop(std::chrono::milliseconds interval) {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval, [&] { return stop_ || kicked_; });
    if (stop_) break;
    kicked_ = false;
    lock.unlock();
    auto r = RunOnce(1000);
    lock.lock();
    if (!r.ok()) {
      errors_++;  // counted and logged; the next pass retries (the work list is in the engine)
      LOG_WARN_EVERY("background deletion of unreferenced blocks failed (will retry): {}",
                     r.status().ToString());
    }
  }
}

uint64_t Deleter::slices_deleted() const {
  std::lock_guard lock(mu_);
  return deleted_;
}

uint64_t Deleter::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

}  // namespace strata::chunk
