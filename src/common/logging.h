// Logging: levelled, fmt-formatted log lines over spdlog (Debian libspdlog-dev), written to
// stderr or to a file. Use the macros:
//
//   LOG_INFO("uploaded {} blocks in {} ms", n, ms);
//   LOG_WARN / LOG_ERROR / LOG_DEBUG likewise.
//
// A line looks like "2024-05-01 12:00:00.123456 warn 4711 writer.cc:88 message" (time, level,
// thread id, source file:line, message). Format strings are checked at compile time, and the
// arguments are not even formatted when the level is disabled.
//
// The logger is process-wide state, the one deliberate exception to "no mutable globals": it
// is configured once by main (InitLogging from --log-level / --log-file) before other threads
// start, and only read afterwards. Until then lines go to stderr at level info.
//
// Thread-safety: logging from any thread is safe (spdlog's _mt sinks). InitLogging should run
// before other threads log; SetLevel may be called at any time.
// Errors: InitLogging returns kIOError when the log file cannot be opened, ParseLogLevel
// kInvalidArgument for an unknown name. Failures while writing a line are not reported.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace strata::logging {

enum class Level : uint8_t { kDebug, kInfo, kWarn, kError, kOff };

// "debug", "info", "warn" (or "warning"), "error", "off"; case-insensitive.
Result<Level> ParseLogLevel(std::string_view name);
std::string_view LevelName(Level level);

struct LogOptions {
  Level level = Level::kInfo;  // lines below this level are dropped
  std::string file;  // "" = stderr; else appended to, created (with its directories) if missing
};

// Replaces the process logger. Lines of level warn and above are flushed at once.
Status InitLogging(const LogOptions& options);
void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);
// Writes everything buffered to the sink (also done at warn and above).
void Flush();

// One already-formatted line. Prefer the macros.
void Write(Level level, const char* file, int line, std::string_view message);

template <typename... Args>
void Log(Level level, const char* file, int line, fmt::format_string<Args...> format,
         Args&&... args) {
  if (!Enabled(level)) return;
  Write(level, file, line, fmt::format(format, std::forward<Args>(args)...));
}

// Admits at most one line per `interval` at one call site, counting what it suppressed, so a
// failing engine or store retried by 32 threads does not flood the log. Keep one per call
// site (the LOG_*_EVERY macros declare a function-local static: per-site state of the
// process logger, like the logger itself).
// Thread-safety: Admit may be called from any thread (lock-free).
class RateLimiter {
 public:
  explicit RateLimiter(int64_t interval_ms) : interval_ns_(interval_ms * 1000000) {}
  // True when a line may be written now; *suppressed gets how many were dropped since the
  // last admitted one.
  bool Admit(uint64_t* suppressed);

 private:
  const int64_t interval_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace strata::logging

#define STRATA_LOG_EVERY(level, interval_ms, fmtstr, ...)                                     \
  do {                                                                                        \
    static ::strata::logging::RateLimiter strata_rl_(interval_ms);                            \
    uint64_t strata_rl_dropped_ = 0;                                                          \
    if (::strata::logging::Enabled(::strata::logging::Level::level) &&                        \
        strata_rl_.Admit(&strata_rl_dropped_)) {                                              \
      ::strata::logging::Log(::strata::logging::Level::level, __FILE__, __LINE__,             \
                             fmtstr " ({} similar lines suppressed)", ##__VA_ARGS__,         \
                             strata_rl_dropped_);                                             \
    }                                                                                         \
  } while (0)
// One line per 10 s per call site at most, with the count of suppressed ones.
#define LOG_WARN_EVERY(...) STRATA_LOG_EVERY(kWarn, 10000, __VA_ARGS__)
#define LOG_ERROR_EVERY(...) STRATA_LOG_EVERY(kError, 10000, __VA_ARGS__)

#define STRATA_LOG(level, ...) \
  ::strata::logging::Log(::strata::logging::Level::level, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DEBUG(...) STRATA_LOG(kDebug, __VA_ARGS__)
#define LOG_INFO(...) STRATA_LOG(kInfo, __VA_ARGS__)
#define LOG_WARN(...) STRATA_LOG(kWarn, __VA_ARGS__)
#define LOG_ERROR(...) STRATA_LOG(kError, __VA_ARGS__)
