// strata profile MOUNTPOINT [--interval 2] [--count N]: which operations a mount spends its
// time on, from its `.accesslog` (vfs/access_log.h; line format docs/format/virtual-files.md).
// Reads the log while it runs and, every interval, shows per operation: how many, total
// seconds, average milliseconds, sorted by total time — counted since the tool started.
// On a terminal the table is redrawn in place; piped, each interval prints one block:
//
//   # profile 2026-12-01T11:45:03Z: 1234 operations in 2.0 s
//   op           count    total_s   avg_ms
//   write_buf      800      0.412    0.515
//   ...
//
// Reading `.accesslog` takes root (mode 0400). The log is only written while someone reads
// it, so the numbers start when this tool does.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/mount_files.h"

namespace strata::cli {
namespace {

struct OpTotals {
  uint64_t count = 0;
  double seconds = 0;
};

// Everything the reader thread has seen, guarded by mu.
struct Shared {
  std::mutex mu;
  std::map<std::string, OpTotals> ops;
  uint64_t lines = 0;
  std::string error;  // set when the read failed
  bool ended = false;
};

// One access log line: TIME UID GID PID OP ARGS RESULT SECONDS (tab-separated).
bool ParseLine(const std::string& line, std::string* op, double* seconds) {
  if (line.empty() || line[0] == '#') return false;
  size_t tabs[7];
  size_t pos = 0;
  for (int i = 0; i < 7; ++i) {
    pos = line.find('\t', pos);
    if (pos == std::string::npos) return false;
    tabs[i] = pos++;
  }
  *op = line.substr(tabs[3] + 1, tabs[4] - tabs[3] - 1);
  char* end = nullptr;
  *seconds = std::strtod(line.c_str() + tabs[6] + 1, &end);
  return end != line.c_str() + tabs[6] + 1;
}

void ReadLog(int fd, Shared* shared) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> l(shared->mu);
    if (n <= 0) {
      if (n < 0) shared->error = std::string("reading the access log: ") + std::strerror(errno);
      shared->ended = true;
      return;
    }
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string op;
      double secs = 0;
      if (ParseLine(buf.substr(start, nl - start), &op, &secs)) {
        OpTotals& t = shared->ops[op];
        t.count++;
        t.seconds += secs;
        shared->lines++;
      }
    }
    buf.erase(0, start);
  }
}

std::string Table(const std::map<std::string, OpTotals>& ops, uint64_t total, double elapsed) {
  std::vector<std::pair<std::string, OpTotals>> rows(ops.begin(), ops.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.second.seconds != b.second.seconds ? a.second.seconds > b.second.seconds
                                                : a.first < b.first;
  });
  char stamp[32];
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  char line[160];
  std::snprintf(line, sizeof(line), "# profile %s: %llu operations in %.1f s\n", stamp,
                static_cast<unsigned long long>(total), elapsed);
  std::string out = line;
  std::snprintf(line, sizeof(line), "%-16s %10s %12s %10s\n", "op", "count", "total_s", "avg_ms");
  out += line;
  for (const auto& [op, t] : rows) {
    std::snprintf(line, sizeof(line), "%-16s %10llu %12.6f %10.3f\n", op.c_str(),
                  static_cast<unsigned long long>(t.count), t.seconds,
                  t.count ? t.seconds / static_cast<double>(t.count) * 1000 : 0.0);
    out += line;
  }
  return out;
}

struct ProfileArgs {
  std::string mount_point;
  double interval = 2;
  int64_t count = 0;  // 0 = until interrupted
};

int RunProfile(const ProfileArgs& a) {
  auto path = MountFilePath(a.mount_point, ".accesslog");
  if (!path.ok()) {
    std::fprintf(stderr, "strata profile: %s\n", std::string(path.status().message()).c_str());
    return 1;
  }
  int fd = open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "strata profile: %s: %s\n", path->c_str(), std::strerror(errno));
    return 1;
  }
  auto shared = std::make_shared<Shared>();
  // The reader blocks in read() on the log (it waits for lines); it is not joined: the
  // process ends it when it exits (the mount sees the interrupted read and lets go).
  std::thread([fd, shared] { ReadLog(fd, shared.get()); }).detach();
  const bool tty = isatty(STDOUT_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto next = start;
  int rc = 0;
  for (int64_t n = 0; a.count == 0 || n < a.count; ++n) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(a.interval));
    std::this_thread::sleep_until(next);
    std::string table, error;
    {
      std::lock_guard<std::mutex> l(shared->mu);
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                           .count();
      table = Table(shared->ops, shared->lines, elapsed);
      error = shared->error;
    }
    if (!error.empty()) {
      std::fprintf(stderr, "strata profile: %s\n", error.c_str());
      rc = 1;
      break;
    }
    if (tty) std::fputs("\x1b[H\x1b[2J", stdout);  // redraw in place
    std::fputs(table.c_str(), stdout);
    if (!tty) std::fputs("\n", stdout);
    std::fflush(stdout);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(rc);  // the reader thread is still blocked in the kernel: do not run destructors
}

}  // namespace

void RegisterProfile(CLI::App& app) {
  auto a = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand(
      "profile", "Summarise a mount's operations by type (from its .accesslog; root)");
  cmd->add_option("MOUNTPOINT", a->mount_point, "A StrataFS mount point")->required();
  cmd->add_option("--interval", a->interval, "Seconds between summaries")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0).description(""));
  cmd->add_option("--count", a->count, "Summaries to print, then exit (default: until Ctrl-C)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40).description(""));
  cmd->callback([a] { SetExitCode(RunProfile(*a)); });
}

}  // namespace strata::cli
