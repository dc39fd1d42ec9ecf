// StagingTier: the uploader — a dispatcher thread over the in-memory queue (oldest first,
// after the upload delay, at most `uploaders` at once and fewer while writers are staging,
// paused by a back-off after a failure)
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

uint64_t StagingTier::UploadSlots(int64_t now, int64_t* until_ns) const {
  const auto all = static_cast<uint64_t>(options_.uploaders);
  const auto few =
      static_cast<uint64_t>(std::min(options_.foreground_uploaders, options_.uploaders));
  if (few >= all || drain_waiters_ > 0 || room_waiters_ > 0) return all;
  if (static_cast<double>(stats_.bytes) >=
      options_.high_water * static_cast<double>(options_.limit)) {
    return all;
  }
  const int64_t window = std::chrono::nanoseconds(options_.foreground_window).count();
  const int64_t idle_at = writing_ > 0 ? INT64_MAX : last_write_ns_ + window;
  if (now >= idle_at) return all;
  // The oldest block waiting (the queue's head; stale keys were skipped) bounds the lag.
  if (!queue_.empty()) {
    const int64_t lag_at =
        index_.at(queue_.front()).due_ns + std::chrono::nanoseconds(options_.max_lag).count();
    if (now >= lag_at) return all;
    *until_ns = std::min(idle_at, lag_at);
  } else {
    *until_ns = idle_at;
  }
  return few;
}

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
    int64_t slots_until = INT64_MAX;
    const uint64_t slots = UploadSlots(now, &slots_until);
    if (!queue_.empty() && stats_.uploading >= slots &&
        stats_.uploading < static_cast<uint64_t>(options_.uploaders)) {
      // Held back for the writers only: look again when they may have gone idle.
      const Entry& head = index_.at(queue_.front());
      if (std::max(head.due_ns, paused_until_ns_) <= now) {
        if (!holding_) stats_.held_back++;
        holding_ = true;
      }
      if (slots_until != INT64_MAX) wait = std::chrono::nanoseconds(slots_until - now);
    } else if (!queue_.empty() && stats_.uploading < slots) {
      holding_ = false;
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

Status StagingTier::UploadFromFile(const std::string& key, const Entry& where, bool* lost) {
  {
    std::lock_guard lock(mu_);
    stats_.rereads++;
  }
  auto raw = ReadStaged(key, where);
  if (!raw.ok()) {
    *lost = raw.status().Is(Code::kNotFound) || raw.status().Is(Code::kCorruption);
    return raw.status().WithContext("read staged block");
  }
  StagedBlock b;
  Status st = DecodeStagedBlockInPlace(&*raw, &b);
  if (st.ok() && b.key != key) st = Status::Corruption("staged file holds " + b.key);
  if (!st.ok()) {
    *lost = true;
    if (where.seg == 0) {
      const std::string path = PathOf(StagedName(key));
      Status mv = options_.env->Rename(path, path + ".corrupt");
      (void)mv;  // deliberately dropped: kept for inspection when possible
    }  // a record stays in its segment until the segment goes
    return st;
  }
  // Encoded from the file's bytes, which go before the PUT: one block's worth of memory per
  // upload in flight, as without writeback.
  std::string body = home_->EncodeBody(raw->view());
  *raw = BlockBuffer();  // freed now, not after the PUT
  return home_->WriteBody(key, body, true, b.origin);
}

void StagingTier::Upload(const std::string& key) {
  const std::string path = PathOf(StagedName(key));
  BlockData body;
  BlockOrigin origin;
  Entry where;  // the file or the record to read when no body was kept
  {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      body = it->second.body;
      origin = it->second.origin;
      where.seg = it->second.seg;
      where.off = it->second.off;
      where.rec_len = it->second.rec_len;
    }
  }
  bool lost = false;  // the staged file cannot be uploaded, ever
  Status st = RunCatching("upload staged block", [&] {
    // Encoded when it was staged: no read of the file, no decoding, no second encoding.
    if (body) return home_->WriteBody(key, *body, true, origin);
    return UploadFromFile(key, where, &lost);
  });
  body.reset();  // the entry's reference goes when it is forgotten
  if (lost) {
    LOG_ERROR("writeback: staged block {} cannot be uploaded ({}); the part of the file it "
              "holds is lost unless the store already has it",
              key, st.ToString());
  }
  if (st.ok() && where.seg == 0) {
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
    std::string gone;  // a record's segment, when it held the last of them
    if (it != index_.end()) {
      Entry e = it->second;
      index_.erase(it);
      gone = Forget(key, e);
    }
    if (st.ok()) {
      stats_.uploaded_total++;
      stats_.last_error.clear();
      backoff_ = std::chrono::milliseconds(0);
    }
    gen_++;
    lock.unlock();
    cv_.notify_all();
    RemoveSegmentFile(gone);
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
  // Someone waits for the store to have everything: every upload slot, writers or not.
  drain_waiters_++;
  gen_++;
  cv_.notify_all();
  uint64_t progress = stats_.uploaded_total + stats_.removed_total;
  while (stats_.blocks > 0 && !stop_) {
    bool moved = clock_->WaitFor(lock, cv_, timeout, [&] {
      return stop_ || stats_.blocks == 0 ||
             stats_.uploaded_total + stats_.removed_total != progress;
    });
    if (!moved) break;  // no progress for `timeout`
    progress = stats_.uploaded_total + stats_.removed_total;
  }
  drain_waiters_--;
  gen_++;
  cv_.notify_all();
  return stats_;
}

}  // namespace strata::cache
