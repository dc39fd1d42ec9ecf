// SessionManager: this client's session in the volume's metadata (DESIGN.md §5 "Sessions"):
// the session record (host, mount point, pid, version, heartbeat expiry), the heartbeat
// thread that renews it every heartbeat period, and, when run_cleaner is set, the cleaner
// election: in each round the client holding the cleaner lease cleans up the sessions whose
// heartbeat expired (their locks and sustained inodes, session_util.h) and then runs the
// other cleanup jobs its owner gave it (Meta: deleted files, trash expiry).
//
// Time: record expiries are wall-clock seconds of the Clock; the thread waits in the clock's
// monotonic time with Clock::WaitFor, so Close ends the wait at once and a FakeClock's
// Advance drives the rounds in tests (no real sleeps).
//
// Errors of a round are logged (a failed heartbeat with the session, its host and the time
// since the last good one; a cleaned session with its host and how long ago it expired) and
// retried in the next round: the engine being down fails this client's requests anyway.
//
// Thread-safety: all methods may be called from many threads. Start and Close are serialised;
// the thread is the only one running rounds. Owned by Meta, which forwards to it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "meta/kv/kv.h"
#include "meta/types.h"

namespace strata::meta {

class SessionManager {
 public:
  struct Options {
    int heartbeat_seconds = 12;         // period of the heartbeat (and of the cleaner rounds)
    int expiry_seconds = 60;            // a record not renewed for this long is expired
    bool run_cleaner = true;            // take part in the cleaner election
    Clock* clock = SystemClock::Get();  // not owned
  };
  // `engine` is not owned and must outlive this. `cleaner_jobs` (may be empty) runs on the
  // background thread in each round in which this client holds the cleaner lease, after the
  // expired sessions were cleaned up.
  SessionManager(kv::KvEngine* engine, const Options& options, std::function<void()> cleaner_jobs);
  // Stops the thread. Does not remove the session record: call Close for that (a record
  // left behind expires and is cleaned up by another client).
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Registers a new session (the next id of the session counter) expiring one expiry period
  // from now, and starts the heartbeat thread. kAlreadyExists when a session is open.
  Status Start(const SessionInfo& info);
  // Stops the thread and releases everything the session holds (internal::CleanSession),
  // the record last. OK when no session is open.
  Status Close();
  // This client's session id; 0 when none is open.
  uint64_t id() const;
  Result<std::vector<SessionInfo>> List() const;
  // What the heartbeat publishes as this session's writeback staging (types.h
  // SessionStaging); called on the heartbeat thread at each round. Empty (the default): the
  // record carries none. Set it to empty before whatever it reads goes away.
  void SetStagingReporter(std::function<SessionStaging()> reporter);
  // Runs a heartbeat round now instead of at the end of the period (the staging went from
  // empty to non-empty: fsck and status should know at once). Returns at once.
  void PublishSoon();
  // Cleans up every other session whose expiry is before `now_unix`; returns how many. A
  // failure to clean one is logged and the others are still tried; the first error is
  // returned.
  Result<int> CleanupExpired(int64_t now_unix);

 private:
  void Loop(uint64_t sid);
  // One heartbeat, and one cleaner turn when the lease is ours.
  void Round(uint64_t sid);
  int64_t NowUnix() const;
  void StopThread();

  kv::KvEngine* const engine_;
  const Options options_;
  const std::function<void()> cleaner_jobs_;

  std::mutex control_mu_;  // serialises Start and Close (held while joining the thread)
  std::thread thread_;     // GUARDED_BY(control_mu_)

  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes the thread for stop_
  bool stop_ = false;           // GUARDED_BY(mu_)
  bool publish_ = false;        // GUARDED_BY(mu_): PublishSoon asked for a round
  // Held while the reporter runs, so that clearing it waits for a call in progress.
  std::mutex reporter_mu_;
  std::function<SessionStaging()> staging_reporter_;  // GUARDED_BY(reporter_mu_)
  uint64_t id_ = 0;             // GUARDED_BY(mu_)
  SessionInfo info_;            // GUARDED_BY(mu_): as registered, for log lines
  int64_t last_heartbeat_ = 0;  // only touched by the thread and Start: unix seconds
};

}  // namespace strata::meta
