// Progress: the one progress display of every long tool (gc, fsck, dump, load, sync, warmup,
// bench, objbench). A tool makes one Progress, adds counters, bumps them from any thread and
// calls Finish:
//
//   Progress p("gc", {});
//   auto* objects = p.AddCounter("objects", Progress::Unit::kCount);
//   auto* bytes = p.AddCounter("bytes", Progress::Unit::kBytes, total_bytes);
//   ... objects->Add(1); bytes->Add(n); p.SetStage("deleting"); ...
//   p.Finish();   // prints the final line
//
// Display: on a terminal (mode kAuto and `out` is a tty, or kTerminal) one line redrawn in place
// every `redraw` with a bar for the first counter that has a total, a rate and an ETA; otherwise
// (piped, logged) one plain line every `plain_every`, so a log shows the tool is alive without
// flooding it. Finish always prints one last plain line with the totals and the elapsed time
// (not in kQuiet). A background thread does the drawing; Add/Set are two relaxed atomics, cheap
// on hot paths.
//
// Ownership: counters are owned by their Progress; the pointers stay valid until it is
// destroyed. `out` is not owned. Thread-safety: every method may be called from any thread;
// AddCounter may be called while other threads bump existing counters. Errors: none (a failed
// write to `out` is ignored: the display never fails a tool).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"

namespace strata {

struct ProgressOptions {
  enum class Mode { kAuto, kTerminal, kPlain, kQuiet };
  Mode mode = Mode::kAuto;
  std::FILE* out = stderr;
  std::chrono::milliseconds redraw{200};
  std::chrono::milliseconds plain_every{10000};
  Clock* clock = nullptr;  // nullptr: SystemClock
};

class Progress {
 public:
  enum class Unit { kCount, kBytes };

  class Counter {
   public:
    void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    void Set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
    // 0 means "unknown": no bar, no percentage, no ETA for this counter.
    void SetTotal(uint64_t t) { total_.store(t, std::memory_order_relaxed); }
    uint64_t value() const { return value_.load(std::memory_order_relaxed); }
    uint64_t total() const { return total_.load(std::memory_order_relaxed); }

   private:
    friend class Progress;
    Counter(std::string name, Unit unit, uint64_t total)
        : name_(std::move(name)), unit_(unit), total_(total) {}
    const std::string name_;
    const Unit unit_;
    std::atomic<uint64_t> value_{0};
    std::atomic<uint64_t> total_;
  };

  Progress(std::string title, ProgressOptions options);
  ~Progress();  // Finish() if not called yet
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  Counter* AddCounter(std::string name, Unit unit = Unit::kCount, uint64_t total = 0);
  // A word for the current phase ("listing", "deleting"), shown after the title.
  void SetStage(std::string stage);
  // Stops the drawing thread and prints the final line. Later calls do nothing.
  void Finish();
  // Stops the drawing thread WITHOUT the final line (a redrawn terminal line is erased): for
  // a tool that failed and prints its own one-line error. Later Finish/Abandon do nothing.
  void Abandon();

  // The status text without control characters, e.g.
  // "gc deleting: objects 1,234/5,000 (24%) 310/s | bytes 1.20 GiB | 4 s, ETA 12 s".
  std::string Line() const;
  bool terminal() const { return mode_ == ProgressOptions::Mode::kTerminal; }
  // How many times the display was drawn so far (periodic draws plus the final one).
  uint64_t draws() const { return draws_.load(); }

 private:
  void Run();
  void Draw(bool final);
  void Stop(bool final_line);
  double ElapsedSeconds() const;

  const std::string title_;
  const ProgressOptions options_;
  Clock* const clock_;
  const ProgressOptions::Mode mode_;
  const int64_t start_ns_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Counter>> counters_;  // guarded by mu_ (values are atomics)
  std::string stage_;             // guarded by mu_
  bool stop_ = false;             // guarded by mu_
  bool finished_ = false;         // guarded by mu_
  std::atomic<uint64_t> draws_{0};
  std::thread thread_;
};

}  // namespace strata
