#include "common/progress.h"

#include <unistd.h>

#include <algorithm>

#include "common/units.h"

namespace strata {
namespace {

ProgressOptions::Mode ResolveMode(const ProgressOptions& o) {
  if (o.mode != ProgressOptions::Mode::kAuto) return o.mode;
  if (o.out == nullptr) return ProgressOptions::Mode::kQuiet;
  return ::isatty(::fileno(o.out)) == 1 ? ProgressOptions::Mode::kTerminal
                                        : ProgressOptions::Mode::kPlain;
}

std::string Amount(uint64_t v, Progress::Unit unit) {
  return unit == Progress::Unit::kBytes ? FormatBytes(v) : FormatCount(v);
}

}  // namespace

Progress::Progress(std::string title, ProgressOptions options)
    : title_(std::move(title)),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
      mode_(ResolveMode(options)),
      start_ns_(clock_->MonotonicNanos()) {
  if (mode_ != ProgressOptions::Mode::kQuiet) thread_ = std::thread([this] { Run(); });
}

Progress::~Progress() { Finish(); }

Progress::Counter* Progress::AddCounter(std::string name, Unit unit, uint64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  // The constructor is private to keep counters owned here, so make_unique cannot reach it.
  counters_.push_back(std::unique_ptr<Counter>(new Counter(std::move(name), unit, total)));
  return counters_.back().get();
}

void Progress::SetStage(std::string stage) {
  std::lock_guard<std::mutex> lock(mu_);
  stage_ = std::move(stage);
}

double Progress::ElapsedSeconds() const {
  return static_cast<double>(clock_->MonotonicNanos() - start_ns_) / 1e9;
}

std::string Progress::Line() const {
  std::lock_guard<std::mutex> lock(mu_);
  const double elapsed = ElapsedSeconds();
  std::string line = title_;
  if (!stage_.empty()) line += " " + stage_;
  line += ":";
  double eta = -1;
  bool first = true;
  for (const auto& cp : counters_) {
    const Counter& c = *cp;
    const uint64_t v = c.value(), t = c.total();
    line += first ? " " : " | ";
    line += c.name_ + " " + Amount(v, c.unit_);
    if (t > 0) {
      line += "/" + Amount(t, c.unit_);
      line += " (" + std::to_string(std::min<uint64_t>(100, v * 100 / t)) + "%)";
    }
    if (first && elapsed >= 1) {
      const double rate = static_cast<double>(v) / elapsed;
      line += " " + (c.unit_ == Unit::kBytes ? FormatBytes(static_cast<uint64_t>(rate))
                                             : FormatCount(static_cast<uint64_t>(rate))) + "/s";
    }
    if (eta < 0 && t > 0 && v > 0 && v < t) {
      eta = elapsed * static_cast<double>(t - v) / static_cast<double>(v);
    }
    first = false;
  }
  line += " | " + FormatDuration(elapsed);
  if (eta >= 0) line += ", ETA " + FormatDuration(eta);
  return line;
}

void Progress::Draw(bool final) {
  std::string line = Line();
  if (mode_ == ProgressOptions::Mode::kTerminal) {
    std::string bar;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& cp : counters_) {
        const Counter& c = *cp;
        if (c.total() == 0) continue;
        constexpr int kWidth = 24;
        const int filled = static_cast<int>(
            std::min<uint64_t>(kWidth, c.value() * kWidth / c.total()));
        bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
        break;
      }
    }
    // Carriage return + erase line, then the line; the final one ends with a newline.
    std::fprintf(options_.out, "\r\033[K%s%s%s", final ? "" : bar.c_str(), line.c_str(),
                 final ? "\n" : "");
  } else {
    std::fprintf(options_.out, "%s\n", line.c_str());
  }
  std::fflush(options_.out);
  draws_.fetch_add(1);
}

void Progress::Run() {
  const auto every = mode_ == ProgressOptions::Mode::kTerminal ? options_.redraw
                                                               : options_.plain_every;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (clock_->WaitFor(lock, cv_, every, [this] { return stop_; })) break;
    lock.unlock();
    Draw(false);
    lock.lock();
  }
}

void Progress::Finish() { Stop(true); }

void Progress::Abandon() { Stop(false); }

void Progress::Stop(bool final_line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (mode_ == ProgressOptions::Mode::kQuiet) return;
  if (final_line) {
    Draw(true);
  } else if (mode_ == ProgressOptions::Mode::kTerminal && draws_.load() > 0) {
    std::fprintf(options_.out, "\r\033[K");
    std::fflush(options_.out);
  }
}

}  // namespace strata
