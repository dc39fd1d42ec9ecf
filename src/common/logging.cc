#include "common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>

namespace strata::logging {

namespace {

constexpr std::string_view kPattern = "%Y-%m-%d %H:%M:%S.%f %l %t %s:%# %v";

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

Level FromSpd(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return Level::kError;
    default:
      return Level::kOff;
  }
}

}  // namespace

Result<Level> ParseLogLevel(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  if (lower == "off") return Level::kOff;
  return Status::InvalidArgument("unknown log level '" + std::string(name) +
                                 "' (expected debug, info, warn, error or off)");
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "?";
}

Status InitLogging(const LogOptions& options) {
  spdlog::sink_ptr sink;
  try {
    if (options.file.empty()) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IOError("open log file " + options.file + ": " + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>("strata", std::move(sink));
  logger->set_pattern(std::string(kPattern));
  logger->set_level(ToSpd(options.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return Status::OK();
}

void SetLevel(Level level) { spdlog::default_logger_raw()->set_level(ToSpd(level)); }
Level GetLevel() { return FromSpd(spdlog::default_logger_raw()->level()); }
bool Enabled(Level level) {
  return level != Level::kOff && spdlog::default_logger_raw()->should_log(ToSpd(level));
}
void Flush() { spdlog::default_logger_raw()->flush(); }

void Write(Level level, const char* file, int line, std::string_view message) {
  spdlog::default_logger_raw()->log(spdlog::source_loc{file, line, ""}, ToSpd(level), message);
}

bool RateLimiter::Admit(uint64_t* suppressed) {
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now < next || !next_ns_.compare_exchange_strong(next, now + interval_ns_)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *suppressed = dropped_.exchange(0, std::memory_order_relaxed);
  return true;
}

}  // namespace strata::logging
