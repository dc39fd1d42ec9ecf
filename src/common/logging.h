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

}  // namespace strata::logging

#define STRATA_LOG(level, ...) \
  ::strata::logging::Log(::strata::logging::Level::level, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DEBUG(...) STRATA_LOG(kDebug, __VA_ARGS__)
#define LOG_INFO(...) STRATA_LOG(kInfo, __VA_ARGS__)
#define LOG_WARN(...) STRATA_LOG(kWarn, __VA_ARGS__)
#define LOG_ERROR(...) STRATA_LOG(kError, __VA_ARGS__)
