// strata stats MOUNTPOINT [--interval 1] [--schema ufmco] [--count N]: a live view of a
// running mount, one line per interval, computed as the growth of the counters in the mount's
// `.stats` file (its metrics as Prometheus text) between two reads. Sections, chosen and
// ordered by --schema:
//
//   u usage   cpu (% of one core), mem (resident), buf (write buffer in use)
//   f fuse    ops/s, lat (ms per op), read and write (bytes/s through the mount)
//   m meta    txn/s, lat (ms per transaction), retry/s
//   o object  get/s, get bytes/s, put/s, put bytes/s, lat (ms per request), upl (uploads
//             under way), err/s
//   c cache   hit/s (answered by a cache tier), miss/s (went to the store), hit%, size, evict/s
//
// On a terminal the header is bold and repeated every screenful; piped, it is printed once and
// each line is plain whitespace-separated fields (a section border is a lone '|'), so awk can
// read it. Needs no access to the metadata engine: only read permission on `.stats`.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/mount_files.h"
#include "common/metrics_text.h"

namespace strata::cli {
namespace {

struct Reading {
  MetricsSnapshot m;
  std::chrono::steady_clock::time_point at;
};

struct Column {
  const char* name;
  // Value of the column between two readings `secs` apart, as text.
  std::function<std::string(const Reading& prev, const Reading& cur, double secs)> value;
};

struct Section {
  char letter;
  const char* title;
  std::vector<Column> columns;
};

constexpr int kWidth = 6;  // every column: 5 characters and a space

double Grew(const Reading& p, const Reading& c, const char* name,
            const std::map<std::string, std::string>& match = {}) {
  double d = c.m.Sum(name, match) - p.m.Sum(name, match);
  return d > 0 ? d : 0;  // a restarted mount starts again from 0
}

std::string Rate(double v, double secs, bool bytes) { return ShortNumber(v / secs, bytes); }

// Mean latency in ms of a histogram between readings; "-" when nothing happened.
std::string LatencyMs(const Reading& p, const Reading& c, const char* histogram,
                      const std::map<std::string, std::string>& match = {}) {
  std::string base(histogram);
  double n = Grew(p, c, (base + "_count").c_str(), match);
  if (n <= 0) return "-";
  double ms = Grew(p, c, (base + "_sum").c_str(), match) / n * 1000;
  char buf[16];
  std::snprintf(buf, sizeof(buf), ms < 10 ? "%.2f" : ms < 100 ? "%.1f" : "%.0f", ms);
  return buf;
}

std::vector<Section> AllSections() {
  std::vector<Section> s;
  s.push_back({'u', "usage",
               {{"cpu",
                 [](const Reading& p, const Reading& c, double secs) {
                   double used = c.m.Sum("strata_process_cpu_seconds") -
                                 p.m.Sum("strata_process_cpu_seconds");
                   char buf[16];
                   std::snprintf(buf, sizeof(buf), "%.0f%%", std::max(0.0, used / secs * 100));
                   return std::string(buf);
                 }},
                {"mem",
                 [](const Reading&, const Reading& c, double) {
                   return ShortNumber(c.m.Sum("strata_process_resident_bytes"), true);
                 }},
                {"buf", [](const Reading&, const Reading& c, double) {
                   return ShortNumber(c.m.Sum("strata_buffer_bytes"), true);
                 }}}});
  s.push_back({'f', "fuse",
               {{"ops",
                 [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_fuse_ops_total"), secs, false);
                 }},
                {"lat",
                 [](const Reading& p, const Reading& c, double) {
                   return LatencyMs(p, c, "strata_fuse_op_seconds");
                 }},
                {"read",
                 [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_fuse_read_bytes_total"), secs, true);
                 }},
                {"write", [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_fuse_written_bytes_total"), secs, true);
                 }}}});
  s.push_back({'m', "meta",
               {{"txn",
                 [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_meta_transactions_total"), secs, false);
                 }},
                {"lat",
                 [](const Reading& p, const Reading& c, double) {
                   return LatencyMs(p, c, "strata_meta_transaction_seconds");
                 }},
                {"retry", [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_meta_retries_total"), secs, false);
                 }}}});
  auto op = [](const char* o) { return std::map<std::string, std::string>{{"op", o}}; };
  s.push_back({'o', "object",
               {{"get",
                 [op](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_object_requests_total", op("get")), secs, false);
                 }},
                {"get_B",
                 [op](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_object_bytes_total", op("get")), secs, true);
                 }},
                {"put",
                 [op](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_object_requests_total", op("put")), secs, false);
                 }},
                {"put_B",
                 [op](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_object_bytes_total", op("put")), secs, true);
                 }},
                {"lat",
                 [](const Reading& p, const Reading& c, double) {
                   return LatencyMs(p, c, "strata_object_request_seconds");
                 }},
                {"upl",
                 [op](const Reading&, const Reading& c, double) {
                   return ShortNumber(c.m.Sum("strata_object_requests_in_flight", op("put")),
                                      false);
                 }},
                {"err", [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_object_errors_total"), secs, false);
                 }}}});
  // Lookups answered by a tier before the store are hits; what the store tier answered missed
  // every cache. A staging or peer tier counts as a cache here, by construction.
  auto hits = [](const Reading& p, const Reading& c) {
    double now = c.m.SumExcept("strata_cache_hits_total", "tier", "store");
    double before = p.m.SumExcept("strata_cache_hits_total", "tier", "store");
    return std::max(0.0, now - before);
  };
  auto misses = [](const Reading& p, const Reading& c) {
    return Grew(p, c, "strata_cache_hits_total", {{"tier", "store"}});
  };
  s.push_back({'c', "cache",
               {{"hit",
                 [hits](const Reading& p, const Reading& c, double secs) {
                   return Rate(hits(p, c), secs, false);
                 }},
                {"miss",
                 [misses](const Reading& p, const Reading& c, double secs) {
                   return Rate(misses(p, c), secs, false);
                 }},
                {"hit%",
                 [hits, misses](const Reading& p, const Reading& c, double) {
                   double h = hits(p, c), m = misses(p, c);
                   if (h + m <= 0) return std::string("-");
                   char buf[16];
                   std::snprintf(buf, sizeof(buf), "%.0f%%", h * 100 / (h + m));
                   return std::string(buf);
                 }},
                {"size",
                 [](const Reading&, const Reading& c, double) {
                   return ShortNumber(c.m.Sum("strata_cache_bytes"), true);
                 }},
                {"evict", [](const Reading& p, const Reading& c, double secs) {
                   return Rate(Grew(p, c, "strata_cache_evictions_total"), secs, false);
                 }}}});
  return s;
}

std::string Pad(const std::string& s, int width) {
  if (static_cast<int>(s.size()) >= width) return s.substr(0, width);
  return std::string(width - s.size(), ' ') + s;
}

// Two header lines: section titles centred in dashes over their columns, then column names.
std::pair<std::string, std::string> Header(const std::vector<Section>& sections) {
  std::string top, names;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i > 0) {
      top += "| ";
      names += "| ";
    }
    int width = static_cast<int>(sections[i].columns.size()) * kWidth;
    std::string title = sections[i].title;
    int dashes = width - 1 - static_cast<int>(title.size());
    int left = std::max(0, dashes / 2), right = std::max(0, dashes - dashes / 2);
    top += std::string(left, '-') + title + std::string(right, '-') + " ";
    for (const Column& c : sections[i].columns) names += Pad(c.name, kWidth - 1) + " ";
  }
  while (!top.empty() && top.back() == ' ') top.pop_back();
  while (!names.empty() && names.back() == ' ') names.pop_back();
  return {top, names};
}

std::string Line(const std::vector<Section>& sections, const Reading& p, const Reading& c) {
  double secs = std::chrono::duration<double>(c.at - p.at).count();
  if (secs <= 0) secs = 1e-3;
  std::string line;
  for (size_t i = 0; i < sections.size(); ++i) {
    if (i > 0) line += "| ";
    for (const Column& col : sections[i].columns) {
      line += Pad(col.value(p, c, secs), kWidth - 1) + " ";
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

Result<Reading> Read(const std::string& stats_path) {
  ASSIGN_OR_RETURN(std::string text, ReadMountFile(stats_path));
  ASSIGN_OR_RETURN(auto samples, ParseMetricsText(text));
  return Reading{MetricsSnapshot(std::move(samples)), std::chrono::steady_clock::now()};
}

int TerminalRows() {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4) return ws.ws_row;
  return 24;
}

struct StatsArgs {
  std::string mount_point;
  double interval = 1;
  std::string schema = "ufmco";
  int64_t count = 0;  // 0 = until interrupted
};

int RunStats(const StatsArgs& a) {
  std::vector<Section> all = AllSections(), chosen;
  for (char ch : a.schema) {
    bool found = false;
    for (const Section& s : all) {
      if (s.letter == ch) {
        chosen.push_back(s);
        found = true;
      }
    }
    if (!found) {
      std::fprintf(stderr, "strata stats: unknown section '%c' in --schema (use u f m o c)\n", ch);
      return 1;
    }
  }
  if (chosen.empty()) {
    std::fprintf(stderr, "strata stats: --schema names no section (use u f m o c)\n");
    return 1;
  }
  auto path = MountFilePath(a.mount_point, ".stats");
  if (!path.ok()) {
    std::fprintf(stderr, "strata stats: %s\n", std::string(path.status().message()).c_str());
    return 1;
  }
  const std::string stats_path = *path;
  auto first = Read(stats_path);
  if (!first.ok()) {
    std::fprintf(stderr, "strata stats: %s: %s\n", stats_path.c_str(),
                 std::string(first.status().message()).c_str());
    return 1;
  }
  const bool tty = isatty(STDOUT_FILENO) == 1;
  auto [top, names] = Header(chosen);
  const int every = tty ? TerminalRows() - 2 : 0;
  Reading prev = *first;
  for (int64_t n = 0; a.count == 0 || n < a.count; ++n) {
    if (tty ? n % every == 0 : n == 0) {
      if (tty) {
        std::printf("\x1b[1m%s\n%s\x1b[0m\n", top.c_str(), names.c_str());
      } else {
        std::printf("%s\n%s\n", top.c_str(), names.c_str());
      }
    }
    std::this_thread::sleep_until(prev.at + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::duration<double>(a.interval)));
    auto cur = Read(stats_path);
    if (!cur.ok()) {
      std::fprintf(stderr, "strata stats: %s: %s\n", stats_path.c_str(),
                   std::string(cur.status().message()).c_str());
      return 1;
    }
    std::printf("%s\n", Line(chosen, prev, *cur).c_str());
    std::fflush(stdout);
    prev = std::move(*cur);
  }
  return 0;
}

}  // namespace

void RegisterStats(CLI::App& app) {
  auto a = std::make_shared<StatsArgs>();
  CLI::App* cmd = app.add_subcommand("stats", "Show a mount's activity live (from its .stats)");
  cmd->add_option("MOUNTPOINT", a->mount_point, "A StrataFS mount point")->required();
  cmd->add_option("--interval", a->interval, "Seconds between lines")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0).description(""));
  cmd->add_option("--schema", a->schema,
                  "Sections in order: u(sage) f(use) m(eta) o(bject) c(ache)")
      ->capture_default_str();
  cmd->add_option("--count", a->count, "Lines to print, then exit (default: until Ctrl-C)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40).description(""));
  cmd->callback([a] { SetExitCode(RunStats(*a)); });
}

}  // namespace strata::cli
