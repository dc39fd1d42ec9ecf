// AccessLog: the operation log behind the virtual file `.accesslog` (virtual_files.h). While
// at least one reader has the file open, every operation the front end reports (the FUSE
// adapter: one record per request; the gateway may report its own) becomes one text line,
// handed to every reader in order. With no reader, Append costs one relaxed atomic load and
// keeps nothing: a line is formatted only when someone will read it.
//
// Line format (docs/format/virtual-files.md, version 1), tab-separated, '\n'-terminated:
//   TIME  UID  GID  PID  OP  ARGS  RESULT  SECONDS
//   2026-12-01T11:45:01.123456Z	0	0	4242	lookup	1,"f0"	ENOENT	0.000081
// TIME is the operation's start (UTC, microseconds); ARGS are the operation's arguments,
// comma-separated, names quoted with C escapes (so a line never holds a tab or newline of a
// name); RESULT is OK or the errno name; SECONDS the latency. Lines starting with '#' are
// comments: a header when a reader opens the log, and "# N lines dropped" when the reader fell
// more than `capacity` lines behind (the ring is bounded: a slow reader loses lines, it never
// slows the file system down or grows its memory).
//
// Thread-safety: every method may be called from any thread. Append takes the mutex only when
// a reader is open. Errors: Read returns kBadHandle for an unknown reader, kInterrupted when
// `interrupted` says the caller gave up, kUnavailable after Shutdown.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace strata::vfs {

struct AccessRecord {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  std::string_view op;
  std::string_view args;
  std::string_view result;  // "OK" or an errno name
  double seconds = 0;       // latency; the line's time is now minus this
};

class AccessLog {
 public:
  // `clock` (borrowed; nullptr: SystemClock) stamps the lines. At most `capacity` lines are
  // held for the slowest reader.
  explicit AccessLog(Clock* clock = nullptr, size_t capacity = 4096);
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // True while a reader is open: callers build a record only then.
  bool active() const { return readers_open_.load(std::memory_order_relaxed) > 0; }
  // Formats the record and hands it to every open reader; nothing when none is open.
  void Append(const AccessRecord& record);

  // A new reader, which sees the lines appended from now on (after a header comment).
  uint64_t OpenReader();
  // Drops the reader; when it was the last one the buffer is emptied.
  void CloseReader(uint64_t reader);
  // Whole lines for `reader`, at most `max_bytes` (at least one line, cut when a single line
  // is longer). Waits while there is nothing new, checking `interrupted` (may be empty) every
  // `poll`; an empty result never happens (it would read as end of file).
  Status Read(uint64_t reader, size_t max_bytes, std::string* out,
              const std::function<bool()>& interrupted,
              std::chrono::milliseconds poll = std::chrono::milliseconds(100));
  // Wakes every waiting reader with kUnavailable; later reads fail the same way.
  void Shutdown();

  // Lines held now (0 whenever no reader is open), and readers open now (for .stats).
  size_t buffered() const;
  int readers() const { return readers_open_.load(std::memory_order_relaxed); }

  // Line formatting (also used by tests and `strata profile`'s documentation).
  static std::string FormatLine(int64_t start_wall_nanos, const AccessRecord& record);

 private:
  Clock* const clock_;
  const size_t capacity_;
  std::atomic<int> readers_open_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;  // guarded by mu_; lines_[0] has sequence number first_
  uint64_t first_ = 0;             // guarded by mu_
  struct Reader {
    uint64_t next = 0;         // sequence number of the next line to hand out
    bool header_sent = false;  // the "# strata accesslog v1" comment went out
  };
  std::map<uint64_t, Reader> readers_;  // by reader id; guarded by mu_
  uint64_t next_reader_ = 1;              // guarded by mu_
  bool shutdown_ = false;                 // guarded by mu_
};

}  // namespace strata::vfs
