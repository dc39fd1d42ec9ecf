// StagingTier: the uploader — a dispatcher thread over the in-memory queue (oldest first,
// after the upload delay, at most `uploaders` at once, paused by a back-off after a failure)
// and the upload of one block (its body kept in memory since it was staged, or its file read
// back, verified and encoded; written home with sync; then the file is deleted).
// See staging_tier.h.
#include "cache/staging_format.h"
#include "cache/staging_tier.h"
#include "common/logging.h"

namespace strata::cache {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{30000};

}  // namespace

void StagingTier::DispatchLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Stale keys (removed, or adopted twice) are skipped.
    while (!queue_.empty()) {
      auto it = index_.find(queue_.front());
      if (it != index_.end() && it->second.state == State::kQueued) break;
      queue_.pop_front();
    }
    const int64_t now = clock_->MonotonicNanos();
    std::chrono::nanoseconds wait = std::chrono::hours(1);  // until something changes
    if (!queue_.empty() && stats_.uploading < static_cast<uint64_t>(options_.uploaders)) {
      const Entry& head = index_.at(queue_.front());
      const int64_t ready = std::max(head.due_ns, paused_until_ns_);
      if (ready <= now) {
        std::string key = std::move(queue_.front());
        queue_.pop_front();
        index_.at(key).state = State::kUploading;
        stats_.uploading++;
        lock.unlock();
        // The pool's queue holds `uploaders` tasks and at most that many run: Submit only
        // blocks for a moment. A pool shutting down refuses: the block stays queued.
        Status sub = pool_->Submit([this, key] { Upload(key); });
        lock.lock();
        if (!sub.ok()) {
          auto it = index_.find(key);
          if (it != index_.end()) it->second.state = State::kQueued;
          stats_.uploading--;
          queue_.push_front(key);
          cv_.notify_all();
          return;
        }
        continue;
      }
      wait = std::chrono::nanoseconds(ready - now);
    }
    const uint64_t seen = gen_;
    clock_->WaitFor(lock, cv_, wait, [&] { return stop_ || gen_ != seen; });
  }
}

Status StagingTier::UploadFromFile(const std::string& key, const std::string& path,
                                   bool* lost) {
  {
    std::lock_guard lock(mu_);
    stats_.rereads++;
  }
  auto raw = options_.env->ReadFile(path);
  if (!raw.ok()) {
    *lost = raw.status().Is(Code::kNotFound);
    return raw.status().WithContext("read staged block");
  }
  StagedBlock b;
  Status st = DecodeStagedBlockInPlace(&*raw, &b);
  if (st.ok() && b.key != key) st = Status::Corruption("staged file holds " + b.key);
  if (!st.ok()) {
    *lost = true;
    Status mv = options_.env->Rename(path, path + ".corrupt");
    (void)mv;  // deliberately dropped: kept for inspection when possible
    return st;
  }
  // Encoded from the file's bytes, which go before the PUT: one block's worth of memory per
  // upload in flight, as without writeback.
  std::string body = home_->EncodeBody(*raw);
  std::string().swap(*raw);  // freed now, not after the PUT
  return home_->WriteBody(key, body, true, b.origin);
}

void StagingTier::Upload(const std::string& key) {
  const std::string path = PathOf(StagedName(key));
  BlockData body;
  BlockOrigin origin;
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      body = it->second.body;
      origin = it->second.origin;
    }
  }
  bool lost = false;  // the staged file cannot be uploaded, ever
  Status st = RunCatching("upload staged block", [&] {
    // Encoded when it was staged: no read of the file, no decoding, no second encoding.
    if (body) return home_->WriteBody(key, *body, true, origin);
    return UploadFromFile(key, path, &lost);
  });
  body.reset();  // the entry's reference goes when it is forgotten
  if (lost) {
    LOG_ERROR("writeback: staged block {} cannot be uploaded ({}); the part of the file it "
              "holds is lost unless the store already has it",
              key, st.ToString());
  }
  if (st.ok()) {
    // The file goes before the index entry: a read in between finds no file, which is a
    // miss ("uploaded meanwhile"), and the store has the block. A file that survives a failed
    // delete is found at the next start, adopted and uploaded again (the same bytes).
    Status rm = options_.env->RemoveFile(path);
    if (!rm.ok() && !rm.Is(Code::kNotFound)) {
      LOG_WARN_EVERY("writeback: removing uploaded block file {} failed: {}", path,
                     rm.ToString());
    }
  }
  std::unique_lock lock(mu_);
  stats_.uploading--;
  auto it = index_.find(key);
  if (st.ok() || lost) {
    if (it != index_.end()) {
      Entry e = it->second;
      index_.erase(it);
      Forget(key, e);
    }
    if (st.ok()) {
      stats_.uploaded_total++;
      stats_.last_error.clear();
      backoff_ = std::chrono::milliseconds(0);
    }
    gen_++;
    lock.unlock();
    cv_.notify_all();
    return;
  }
  // Failed: back to the head of the queue, and every upload pauses for the back-off.
  stats_.upload_errors++;
  stats_.last_error = st.ToString();
  backoff_ = std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
  paused_until_ns_ = clock_->MonotonicNanos() +
                     std::chrono::duration_cast<std::chrono::nanoseconds>(backoff_).count();
  if (it != index_.end()) {
    it->second.state = State::kQueued;
    if (!it->second.removed) queue_.push_front(key);  // a waiting Remove takes it instead
  }
  const auto pause = backoff_;
  gen_++;
  lock.unlock();
  cv_.notify_all();
  LOG_WARN_EVERY("writeback: upload of staged block {} failed (retrying in {} ms): {}", key,
                 pause.count(), st.ToString());
}

StagingStats StagingTier::WaitDrained(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  uint64_t progress = stats_.uploaded_total + stats_.removed_total;
  while (stats_.blocks > 0 && !stop_) {
    bool moved = clock_->WaitFor(lock, cv_, timeout, [&] {
      return stop_ || stats_.blocks == 0 ||
             stats_.uploaded_total + stats_.removed_total != progress;
    });
    if (!moved) break;  // no progress for `timeout`
    progress = stats_.uploaded_total + stats_.removed_total;
  }
  return stats_;
}

}  // namespace strata::cache
