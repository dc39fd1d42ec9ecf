// SessionManager (session_manager.h): the heartbeat thread and the cleaner rounds.
#include "meta/session_manager.h"

#include <chrono>

#include "common/logging.h"
#include "meta/session_util.h"

namespace strata::meta {

SessionManager::SessionManager(kv::KvEngine* engine, const Options& options,
                               std::function<void()> cleaner_jobs)
    : engine_(engine), options_(options), cleaner_jobs_(std::move(cleaner_jobs)) {}

SessionManager::~SessionManager() {
  std::lock_guard control(control_mu_);
  StopThread();
}

int64_t SessionManager::NowUnix() const { return options_.clock->NowNanos() / 1000000000; }

uint64_t SessionManager::id() const {
  std::lock_guard lock(mu_);
  return id_;
}

Status SessionManager::Start(const SessionInfo& info) {
  std::lock_guard control(control_mu_);
  if (id() != 0) return Status::AlreadyExists("this client already has a session");
  const int64_t now = NowUnix();
  ASSIGN_OR_RETURN(uint64_t sid,
                   internal::CreateSession(*engine_, info, now + options_.expiry_seconds));
  {
    std::lock_guard lock(mu_);
    id_ = sid;
    info_ = info;
    info_.id = sid;
    stop_ = false;
  }
  last_heartbeat_ = now;
  thread_ = std::thread(&SessionManager::Loop, this, sid);
  return Status::OK();
}

void SessionManager::StopThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status SessionManager::Close() {
  std::lock_guard control(control_mu_);
  StopThread();
  uint64_t sid;
  {
    std::lock_guard lock(mu_);
    sid = id_;
    id_ = 0;
  }
  if (sid == 0) return Status::OK();
  return internal::CleanSession(*engine_, sid, NowUnix());
}

Result<std::vector<SessionInfo>> SessionManager::List() const {
  return internal::ListSessions(*engine_);
}

Result<int> SessionManager::CleanupExpired(int64_t now_unix) {
  ASSIGN_OR_RETURN(auto sessions, List());
  const uint64_t own = id();
  int cleaned = 0;
  Status first;
  for (const auto& s : sessions) {
    if (s.id == own || s.expire_unix >= now_unix) continue;
    Status st = internal::CleanSession(*engine_, s.id, now_unix);
    if (!st.ok()) {
      LOG_ERROR("cleanup of expired session {} (host {}, mount {}) failed: {}", s.id, s.host,
                s.mount_point, st.ToString());
      if (first.ok()) first = st;
      continue;
    }
    LOG_WARN(
        "cleaned up expired session {} (host {}, mount {}, pid {}, version {}): its heartbeat "
        "expired {} s ago; its locks and open-but-deleted files were released",
        s.id, s.host, s.mount_point, s.pid, s.version, now_unix - s.expire_unix);
    cleaned++;
  }
  if (!first.ok()) return first;
  return cleaned;
}

void SessionManager::SetStagingReporter(std::function<SessionStaging()> reporter) {
  std::lock_guard lock(reporter_mu_);
  staging_reporter_ = std::move(reporter);
}

void SessionManager::PublishSoon() {
  {
    std::lock_guard lock(mu_);
    publish_ = true;
  }
  cv_.notify_all();
}

void SessionManager::Loop(uint64_t sid) {
  const auto period = std::chrono::seconds(options_.heartbeat_seconds);
  std::unique_lock lock(mu_);
  int64_t last_round = options_.clock->MonotonicNanos();
  while (!stop_) {
    options_.clock->WaitFor(lock, cv_, period, [this] { return stop_ || publish_; });
    if (stop_) break;
    if (publish_) {
      // Early rounds at most once a second: requests in between are served by one round.
      const auto since = std::chrono::nanoseconds(options_.clock->MonotonicNanos() - last_round);
      if (since < std::chrono::seconds(1)) {
        options_.clock->WaitFor(lock, cv_, std::chrono::seconds(1) - since,
                                [this] { return stop_; });
        if (stop_) break;
      }
    }
    publish_ = false;
    last_round = options_.clock->MonotonicNanos();
    lock.unlock();
    Round(sid);
    lock.lock();
  }
}

void SessionManager::Round(uint64_t sid) {
  const int64_t now = NowUnix();
  SessionStaging staging;
  bool reported = false;
  {
    std::lock_guard lock(reporter_mu_);
    if (staging_reporter_) {
      staging = staging_reporter_();
      reported = true;
    }
  }
  SessionInfo info;
  {
    std::lock_guard lock(mu_);
    info = info_;
  }
  Status hb = internal::WriteHeartbeat(*engine_, sid, now + options_.expiry_seconds, info,
                                       reported ? &staging : nullptr);
  if (hb.ok()) {
    last_heartbeat_ = now;
  } else {
    LOG_WARN(
        "session {} (host {}): heartbeat failed, last renewed {} s ago (other clients clean it "
        "up {} s after that): {}",
        sid, info.host, now - last_heartbeat_, options_.expiry_seconds, hb.ToString());
  }
  if (!options_.run_cleaner) return;
  Result<bool> lease = internal::TakeCleanerLease(*engine_, sid, now, options_.expiry_seconds);
  if (!lease.ok()) {
    LOG_WARN("session {}: cleaner election failed: {}", sid, lease.status().ToString());
    return;
  }
  if (!*lease) return;
  // CleanupExpired logs what it cleaned and what failed; the next round retries the rest.
  Result<int> cleaned = CleanupExpired(NowUnix());
  (void)cleaned;
  if (cleaner_jobs_) cleaner_jobs_();
}

}  // namespace strata::meta
