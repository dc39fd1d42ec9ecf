#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace strata {

namespace {

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void AppendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (quote && c == '"') {
      *out += "\\\"";
    } else {
      out->push_back(c);
    }
  }
}

// `{a="1",b="2"}` plus an optional extra label (for le); "" when there are none.
std::string LabelText(const Labels& labels, std::string_view extra_name = "",
                      std::string_view extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](std::string_view k, std::string_view v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    AppendEscaped(&out, v, true);
    out += '"';
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
  return out;
}

std::string_view TypeName(int type) {
  switch (type) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); i++) out[i] = buckets_[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (uint64_t c : BucketCounts()) n += c;
  return n;
}

double Histogram::Quantile(double q) const {
  std::vector<uint64_t> counts = BucketCounts();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return std::nan("");
  q = std::clamp(q, 0.0, 1.0);
  double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); i++) {
    if (counts[i] == 0 || static_cast<double>(below + counts[i]) < rank) {
      below += counts[i];
      continue;
    }
    if (i == bounds_.size()) return bounds_.back();  // in the +Inf bucket
    double lower = i == 0 ? std::min(0.0, bounds_[0]) : bounds_[i - 1];
    double upper = bounds_[i];
    double frac = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    return lower + (upper - lower) * frac;
  }
  return bounds_.back();
}

std::vector<double> LatencyBuckets() {
  std::vector<double> out;
  for (double decade = 1e-4; decade < 100; decade *= 10) {
    for (double step : {1.0, 2.5, 5.0}) {
      double v = decade * step;
      if (v > 60) break;
      out.push_back(v);
    }
  }
  out.push_back(60);
  // Round away binary noise from the multiplications (0.00025000000000000006 -> 0.00025).
  for (double& v : out) v = std::stod(fmt::format("{:.6g}", v));
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<MetricsRegistry::Family*> MetricsRegistry::FamilyFor(std::string_view name,
                                                            std::string_view help, Type type,
                                                            const Labels& labels, Labels* sorted) {
  if (!ValidName(name, true)) {
    return Status::InvalidArgument("bad metric name '" + std::string(name) + "'");
  }
  *sorted = labels;
  std::sort(sorted->begin(), sorted->end());
  for (size_t i = 0; i < sorted->size(); i++) {
    const std::string& key = (*sorted)[i].first;
    if (!ValidName(key, false) || key.starts_with("__")) {
      return Status::InvalidArgument("bad label name '" + key + "' for metric '" +
                                     std::string(name) + "'");
    }
    if (type == Type::kHistogram && key == "le") {
      return Status::InvalidArgument("label 'le' is reserved in histogram '" + std::string(name) +
                                     "'");
    }
    if (i > 0 && (*sorted)[i - 1].first == key) {
      return Status::InvalidArgument("label '" + key + "' given twice for metric '" +
                                     std::string(name) + "'");
    }
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help)}).first;
  } else if (it->second.type != type) {
    return Status::InvalidArgument("metric '" + std::string(name) + "' is a " +
                                   std::string(TypeName(static_cast<int>(it->second.type))) +
                                   ", not a " + std::string(TypeName(static_cast<int>(type))));
  }
  return &it->second;
}

Result<Counter*> MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                             const Labels& labels) {
  std::lock_guard lock(mu_);
  Labels key;
  ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, Type::kCounter, labels, &key));
  auto& slot = f->counters[key];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Result<Gauge*> MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                         const Labels& labels) {
  std::lock_guard lock(mu_);
  Labels key;
  ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, Type::kGauge, labels, &key));
  auto& slot = f->gauges[key];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Result<Histogram*> MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                                 const Labels& labels,
                                                 const std::vector<double>& bounds) {
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::any_of(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); })) {
    return Status::InvalidArgument("histogram '" + std::string(name) +
                                   "' needs finite, strictly increasing bucket bounds");
  }
  std::lock_guard lock(mu_);
  Labels key;
  ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, Type::kHistogram, labels, &key));
  if (f->bounds.empty()) {
    f->bounds = bounds;
  } else if (f->bounds != bounds) {
    return Status::InvalidArgument("histogram '" + std::string(name) +
                                   "' already registered with other bucket bounds");
  }
  auto& slot = f->histograms[key];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return slot.get();
}

void MetricsRegistry::AddCollector(std::function<void()> collector) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collector));
}

void MetricsRegistry::SetConstLabels(Labels labels) {
  std::lock_guard lock(mu_);
  const_labels_ = std::move(labels);
}

std::string MetricsRegistry::Render() const {
  {
    std::lock_guard lock(collectors_mu_);
    for (const auto& c : collectors_) c();
  }
  std::lock_guard lock(mu_);
  std::string out;
  // A series' labels with the constant ones added (its own win), sorted.
  auto with_const = [this](const Labels& own) {
    if (const_labels_.empty()) return own;
    Labels all = own;
    for (const auto& kv : const_labels_) {
      bool taken = false;
      for (const auto& o : own) taken = taken || o.first == kv.first;
      if (!taken) all.push_back(kv);
    }
    std::sort(all.begin(), all.end());
    return all;
  };
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " ";
    AppendEscaped(&out, f.help, false);
    out += "\n# TYPE " + name + " " + std::string(TypeName(static_cast<int>(f.type))) + "\n";
    for (const auto& [own, c] : f.counters) {
      const Labels labels = with_const(own);
      out += name + LabelText(labels) + " " + std::to_string(c->value()) + "\n";
    }
    for (const auto& [own, g] : f.gauges) {
      const Labels labels = with_const(own);
      out += name + LabelText(labels) + " " + FormatDouble(g->value()) + "\n";
    }
    for (const auto& [own, h] : f.histograms) {
      const Labels labels = with_const(own);
      std::vector<uint64_t> counts = h->BucketCounts();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < counts.size(); i++) {
        cumulative += counts[i];
        std::string le = i < f.bounds.size() ? FormatDouble(f.bounds[i]) : "+Inf";
        out += name + "_bucket" + LabelText(labels, "le", le) + " " + std::to_string(cumulative) +
               "\n";
      }
      out += name + "_sum" + LabelText(labels) + " " + FormatDouble(h->sum()) + "\n";
      out += name + "_count" + LabelText(labels) + " " + std::to_string(cumulative) + "\n";
    }
  }
  return out;
}

}  // namespace strata
