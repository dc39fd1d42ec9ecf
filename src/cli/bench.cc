// strata bench PATH: a quick benchmark inside any directory (a StrataFS mount, or anything
// else to compare with), as `juicefs bench` does: with N threads, each thread writes one big
// file (sequential 1 MiB writes, then fsync and close), reads it back (after dropping its
// pages from the kernel cache with fadvise, so the read reaches the file system), then writes,
// stats and reads many small files, and finally deletes everything. Every byte read is
// checked against what was written, so a benchmark never reports the speed of wrong data.
//
// Prints a table (stdout) of throughput and latency per phase; progress goes to stderr through
// the shared display (common/progress.h). Works under a fresh "__strata_bench_<tag>/"
// directory that is removed at the end, also after a failure. Any failed system call ends the
// run with a one-line error naming the file and exit 1.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "common/progress.h"
#include "common/status.h"
#include "common/units.h"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct BenchOptions {
  std::string path;
  std::string big_file_size = "1G";
  std::string small_file_size = "128K";
  int small_files = 100;  // per thread
  int threads = 1;
  std::string block_size = "1M";
  bool keep = false;
};

struct Phase {
  std::string name;
  std::string unit;  // "MiB/s" or "files/s"
  uint64_t ops = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;  // per op (a file for the small phases, a call for big)
};

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

// Deterministic content per (file, offset) so reads can be checked without keeping the data.
void Fill(std::string* buf, uint64_t seed, uint64_t off) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + off);
  for (size_t i = 0; i + 8 <= buf->size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(buf->data() + i, &v, 8);
  }
  for (size_t i = buf->size() & ~size_t{7}; i < buf->size(); ++i) (*buf)[i] = static_cast<char>(rng());
}

Status WriteFile(const std::string& path, uint64_t size, uint64_t block, uint64_t seed,
                 Progress::Counter* bytes, std::vector<double>* lat) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  std::string buf(block, '\0');
  for (uint64_t off = 0; off < size; off += block) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block, size - off));
    buf.resize(n);
    Fill(&buf, seed, off);
    auto t0 = SteadyClock::now();
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd, buf.data() + done, n - done, static_cast<off_t>(off + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        Status s = Errno("write failed on", path);
        ::close(fd);
        return s;
      }
      done += static_cast<size_t>(w);
    }
    if (lat != nullptr) {
      lat->push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    }
    if (bytes != nullptr) bytes->Add(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("fsync failed on", path);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return Errno("close failed on", path);
  return Status::OK();
}

Status ReadFile(const std::string& path, uint64_t size, uint64_t block, uint64_t seed,
                Progress::Counter* bytes, std::vector<double>* lat) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  std::string buf(block, '\0'), want;
  for (uint64_t off = 0; off < size; off += block) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block, size - off));
    auto t0 = SteadyClock::now();
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd, buf.data() + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        Status s = r < 0 ? Errno("read failed on", path)
                         : Status::IOError("short read of " + path + " at byte " +
                                           std::to_string(off + done));
        ::close(fd);
        return s;
      }
      done += static_cast<size_t>(r);
    }
    if (lat != nullptr) {
      lat->push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
    }
    want.resize(n);
    Fill(&want, seed, off);
    if (std::memcmp(buf.data(), want.data(), n) != 0) {
      ::close(fd);
      return Status::Corruption("wrong bytes read back from " + path + " at offset " +
                                std::to_string(off));
    }
    if (bytes != nullptr) bytes->Add(n);
  }
  ::close(fd);
  return Status::OK();
}

// Drops the file's pages from the kernel page cache, so the next read reaches the file system.
void DropPages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // advisory; a refusal only warms the read
  ::close(fd);
}

// Runs body(thread) on `threads` threads; returns the first error.
Status RunThreads(int threads, const std::function<Status(int)>& body) {
  std::mutex mu;
  Status first = Status::OK();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Status s = body(t);
      std::lock_guard lock(mu);
      if (!s.ok() && first.ok()) first = s;
    });
  }
  for (auto& th : pool) th.join();
  return first;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// One timed phase: a progress display with the given counters, body on every thread, and the
// per-thread latencies merged.
Result<Phase> TimedPhase(const std::string& name, const std::string& unit, int threads,
                         uint64_t total_ops, uint64_t total_bytes,
                         const std::function<Status(int, Progress::Counter*, Progress::Counter*,
                                                    std::vector<double>*)>& body) {
  Phase p{name, unit};
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  Progress progress("bench " + name, ProgressOptions{});
  Progress::Counter* ops = total_ops > 0 ? progress.AddCounter("files", Progress::Unit::kCount, total_ops) : nullptr;
  Progress::Counter* bytes =
      total_bytes > 0 ? progress.AddCounter("bytes", Progress::Unit::kBytes, total_bytes) : nullptr;
  auto t0 = SteadyClock::now();
  Status s = RunThreads(threads, [&](int t) { return body(t, ops, bytes, &lat[static_cast<size_t>(t)]); });
  p.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  progress.Finish();
  if (!s.ok()) return s.WithContext(name);
  p.ops = ops != nullptr ? ops->value() : 0;
  p.bytes = bytes != nullptr ? bytes->value() : 0;
  for (auto& l : lat) p.latencies_ms.insert(p.latencies_ms.end(), l.begin(), l.end());
  return p;
}

void PrintTable(const std::vector<Phase>& rows, const BenchOptions& o, uint64_t big,
                uint64_t small) {
  std::printf("strata bench %s: %d thread(s), big file %s, %d small files of %s per thread\n\n",
              o.path.c_str(), o.threads, FormatBytes(big).c_str(), o.small_files,
              FormatBytes(small).c_str());
  std::printf("| %-18s | %16s | %10s | %10s | %10s |\n", "phase", "value", "seconds", "p50 ms",
              "p99 ms");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(20, '-').c_str(), std::string(18, '-').c_str(),
              std::string(12, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str());
  for (const Phase& r : rows) {
    const double secs = std::max(r.seconds, 1e-9);
    char value[48];
    if (r.unit == "MiB/s") {
      std::snprintf(value, sizeof(value), "%.1f MiB/s", static_cast<double>(r.bytes) / secs / (1 << 20));
    } else {
      std::snprintf(value, sizeof(value), "%.1f %s", static_cast<double>(r.ops) / secs, r.unit.c_str());
    }
    std::printf("| %-18s | %16s | %10.2f | %10.3f | %10.3f |\n", r.name.c_str(), value, r.seconds,
                Quantile(r.latencies_ms, 0.5), Quantile(r.latencies_ms, 0.99));
  }
}

int RunBench(const BenchOptions& o) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "strata bench: %s\n", s.ToString().c_str());
    return 1;
  };
  if (o.threads < 1 || o.threads > 256) return fail(Status::InvalidArgument("--threads must be 1..256"));
  if (o.small_files < 0) return fail(Status::InvalidArgument("--small-files must be >= 0"));
  auto big = ParseSize(o.big_file_size);
  if (!big.ok()) return fail(big.status().WithContext("--big-file-size"));
  auto small = ParseSize(o.small_file_size);
  if (!small.ok()) return fail(small.status().WithContext("--small-file-size"));
  auto block = ParseSize(o.block_size);
  if (!block.ok()) return fail(block.status().WithContext("--block-size"));
  if (*block == 0 || *block > (64u << 20)) {
    return fail(Status::InvalidArgument("--block-size must be 1 byte .. 64 MiB"));
  }
  std::error_code ec;
  if (!fs::is_directory(o.path, ec)) {
    return fail(Status::InvalidArgument(o.path + " is not a directory"));
  }
  std::random_device rd;
  char tag[32];
  std::snprintf(tag, sizeof(tag), "%08x", rd());
  const std::string dir = (fs::path(o.path) / ("__strata_bench_" + std::string(tag))).string();
  if (::mkdir(dir.c_str(), 0755) != 0) return fail(Errno("cannot create", dir));
  auto big_path = [&](int t) { return dir + "/big." + std::to_string(t); };
  auto small_path = [&](int t, int i) {
    return dir + "/t" + std::to_string(t) + "/f" + std::to_string(i);
  };
  const uint64_t threads = static_cast<uint64_t>(o.threads);
  const uint64_t nsmall = threads * static_cast<uint64_t>(o.small_files);

  std::vector<Phase> rows;
  Status s = [&]() -> Status {
    for (int t = 0; t < o.threads; ++t) {
      std::string d = dir + "/t" + std::to_string(t);
      if (::mkdir(d.c_str(), 0755) != 0) return Errno("cannot create", d);
    }
    if (*big > 0) {
      auto w = TimedPhase("write big file", "MiB/s", o.threads, 0, *big * threads,
                          [&](int t, auto*, auto* bytes, auto* lat) {
                            return WriteFile(big_path(t), *big, *block, static_cast<uint64_t>(t), bytes, lat);
                          });
      if (!w.ok()) return w.status();
      rows.push_back(std::move(*w));
      for (int t = 0; t < o.threads; ++t) DropPages(big_path(t));
      auto r = TimedPhase("read big file", "MiB/s", o.threads, 0, *big * threads,
                          [&](int t, auto*, auto* bytes, auto* lat) {
                            return ReadFile(big_path(t), *big, *block, static_cast<uint64_t>(t), bytes, lat);
                          });
      if (!r.ok()) return r.status();
      rows.push_back(std::move(*r));
    }
    if (nsmall == 0) return Status::OK();
    auto each_small = [&](const std::function<Status(const std::string&, uint64_t)>& op) {
      return [&, op](int t, Progress::Counter* ops, Progress::Counter*, std::vector<double>* lat) -> Status {
        for (int i = 0; i < o.small_files; ++i) {
          auto t0 = SteadyClock::now();
          RETURN_IF_ERROR(op(small_path(t, i), 1000003ull * static_cast<uint64_t>(t + 1) + static_cast<uint64_t>(i)));
          lat->push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
          ops->Add(1);
        }
        return Status::OK();
      };
    };
    auto w = TimedPhase("write small files", "files/s", o.threads, nsmall, 0,
                        each_small([&](const std::string& p, uint64_t seed) {
                          return WriteFile(p, *small, *block, seed, nullptr, nullptr);
                        }));
    if (!w.ok()) return w.status();
    rows.push_back(std::move(*w));
    auto st = TimedPhase("stat small files", "files/s", o.threads, nsmall, 0,
                         each_small([&](const std::string& p, uint64_t) -> Status {
                           struct stat sb {};
                           if (::stat(p.c_str(), &sb) != 0) return Errno("cannot stat", p);
                           if (static_cast<uint64_t>(sb.st_size) != *small) {
                             return Status::Corruption(p + " has size " + std::to_string(sb.st_size));
                           }
                           return Status::OK();
                         }));
    if (!st.ok()) return st.status();
    rows.push_back(std::move(*st));
    for (int t = 0; t < o.threads; ++t) {
      for (int i = 0; i < o.small_files; ++i) DropPages(small_path(t, i));
    }
    auto r = TimedPhase("read small files", "files/s", o.threads, nsmall, 0,
                        each_small([&](const std::string& p, uint64_t seed) {
                          return ReadFile(p, *small, *block, seed, nullptr, nullptr);
                        }));
    if (!r.ok()) return r.status();
    rows.push_back(std::move(*r));
    if (o.keep) return Status::OK();
    auto d = TimedPhase("delete small files", "files/s", o.threads, nsmall, 0,
                        each_small([&](const std::string& p, uint64_t) -> Status {
                          if (::unlink(p.c_str()) != 0) return Errno("cannot remove", p);
                          return Status::OK();
                        }));
    if (!d.ok()) return d.status();
    rows.push_back(std::move(*d));
    return Status::OK();
  }();
  if (!o.keep) {
    fs::remove_all(dir, ec);
    if (ec) std::fprintf(stderr, "strata bench: could not remove %s: %s\n", dir.c_str(), ec.message().c_str());
  }
  if (!s.ok()) return fail(s);
  PrintTable(rows, o, *big, *small);
  return 0;
}

}  // namespace

void RegisterBench(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Quick benchmark in a directory: big file write/read, small files write/stat/read");
  sub->add_option("PATH", opts->path, "a directory, usually inside a mount")->required();
  sub->add_option("--big-file-size", opts->big_file_size, "size of each thread's big file (0: skip)")
      ->capture_default_str();
  sub->add_option("--small-file-size", opts->small_file_size, "size of each small file")
      ->capture_default_str();
  sub->add_option("--small-files", opts->small_files, "small files per thread (0: skip)")
      ->capture_default_str();
  sub->add_option("--threads,-p", opts->threads, "concurrent threads, each with its own files")
      ->capture_default_str();
  sub->add_option("--block-size", opts->block_size, "size of each read/write call")
      ->capture_default_str();
  sub->add_flag("--keep", opts->keep, "keep the files written (default: delete them, timed)");
  sub->callback([opts] { SetExitCode(RunBench(*opts)); });
}

}  // namespace strata::cli
