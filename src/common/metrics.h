// Metrics: counters, gauges and latency histograms with labels, kept in a MetricsRegistry that
// its owner (Mount, Gateway, objbench) holds — there is no global registry — and rendered in
// the Prometheus text exposition format (version 0.0.4) for `--metrics host:port` and .stats.
//
// Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]*,
// "le" reserved). Latencies are observed in seconds, as Prometheus expects.
// Written here rather than taken from prometheus-cpp: Debian 12 does not package it, and the
// text format is small.
//
// Thread-safety: Get* and Render may be called from any thread. Counter/Gauge/Histogram updates
// are lock-free atomics; the returned pointers stay valid as long as the registry. Render reads
// each value atomically but not all values at one instant.
// Errors: Get* return kInvalidArgument for a bad name or label name, for a name registered
// with another type, or a histogram name registered with other bucket bounds.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace strata {

// Label name/value pairs. Order does not matter: {a,b} and {b,a} name the same series.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Counts of observations per bucket; bucket i holds values v with bounds[i-1] < v <= bounds[i],
// and one more bucket holds values above the last bound (+Inf).
class Histogram {
 public:
  // REQUIRES: bounds strictly increasing and non-empty (MetricsRegistry checks).
  explicit Histogram(std::vector<double> bounds);

  void Observe(double v);
  // Estimate of the q-quantile (0 <= q <= 1) by linear interpolation inside the bucket that
  // holds it, as Prometheus' histogram_quantile() does: exact to within one bucket. Values in
  // the +Inf bucket are reported as the last bound. NaN when nothing was observed.
  double Quantile(double q) const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts, bounds().size() + 1 entries, the last for +Inf.
  std::vector<uint64_t> BucketCounts() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Upper bounds in seconds from 100 µs to 60 s (1-2.5-5 steps): object-store and metadata
// latencies from a local SSD to a slow remote bucket.
std::vector<double> LatencyBuckets();

// Records the time from construction to destruction (in seconds) into a histogram.
class ScopedLatency {
 public:
  ScopedLatency(Histogram* histogram, const Clock* clock)
      : histogram_(histogram), clock_(clock), start_(clock->MonotonicNanos()) {}
  ~ScopedLatency() { histogram_->Observe((clock_->MonotonicNanos() - start_) / 1e9); }
  ScopedLatency(const ScopedLatency&) = delete;
  ScopedLatency& operator=(const ScopedLatency&) = delete;

 private:
  Histogram* histogram_;
  const Clock* clock_;
  int64_t start_;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The series `name{labels}`, created on first use; later calls return the same object.
  // `help` is kept from the first call for the name.
  Result<Counter*> GetCounter(std::string_view name, std::string_view help,
                              const Labels& labels = {});
  Result<Gauge*> GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Result<Histogram*> GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels = {},
                                  const std::vector<double>& bounds = LatencyBuckets());

  // Adds a function Render() runs first, to sample state that is not counted as it happens
  // (cache sizes, buffered bytes) into gauges of this registry. It must not call Render and
  // must stay valid as long as the registry.
  void AddCollector(std::function<void()> collector);

  // Labels put on every series at render time (the client's volume and mount point), so that
  // scrapes of several mounts on one host stay apart. Set by the owner once it knows them;
  // a series' own label of the same name wins.
  void SetConstLabels(Labels labels);

  // Runs the collectors, then renders every family sorted by name, each with "# HELP" and
  // "# TYPE" lines, its series sorted by labels; histograms as _bucket{le=...} (cumulative),
  // _sum and _count.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;  // histograms only
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  // REQUIRES: mu_ held. The family for `name`, created with `type` when missing.
  Result<Family*> FamilyFor(std::string_view name, std::string_view help, Type type,
                            const Labels& labels, Labels* sorted);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  Labels const_labels_;  // guarded by mu_
  mutable std::mutex collectors_mu_;  // taken before mu_, never inside it
  std::vector<std::function<void()>> collectors_;
};

}  // namespace strata
