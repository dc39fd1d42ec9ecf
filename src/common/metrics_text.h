// MetricsText: reads the Prometheus text exposition format (0.0.4) back into samples, for
// tools that watch a running client through its `.stats` file (`strata stats`) and for tests.
// It reads what MetricsRegistry::Render writes and the common subset of what other exporters
// write: comments and blank lines skipped, `name{label="value",...} value [timestamp]`, label
// values with \\, \" and \n escapes, values as floats (NaN, +Inf, -Inf too).
//
// Thread-safety: pure functions and plain values. Errors: kInvalidArgument naming the line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata {

struct MetricSample {
  std::string name;                           // with any _bucket/_sum/_count suffix
  std::map<std::string, std::string> labels;  // le included for buckets
  double value = 0;
};

Result<std::vector<MetricSample>> ParseMetricsText(std::string_view text);

// Sums of samples by name, with an optional label filter: a small query helper over a parsed
// scrape. Sum("x", {{"op","get"}}) adds every sample named x whose op label is "get".
class MetricsSnapshot {
 public:
  MetricsSnapshot() = default;
  explicit MetricsSnapshot(std::vector<MetricSample> samples) : samples_(std::move(samples)) {}
  double Sum(std::string_view name, const std::map<std::string, std::string>& match = {}) const;
  // Sum of `name` over samples whose `label` is not `value` (e.g. every tier but the store).
  double SumExcept(std::string_view name, const std::string& label,
                   const std::string& value) const;
  bool Has(std::string_view name) const;
  const std::vector<MetricSample>& samples() const { return samples_; }

 private:
  std::vector<MetricSample> samples_;
};

}  // namespace strata
