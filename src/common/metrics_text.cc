#include "common/metrics_text.h"

#include <cmath>
#include <cstdlib>

namespace strata {

namespace {

bool NameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

Status Bad(std::string_view line, std::string_view why) {
  return Status::InvalidArgument("metrics text: " + std::string(why) + " in '" +
                                 std::string(line.substr(0, 120)) + "'");
}

Result<double> ParseValue(std::string_view v) {
  if (v == "NaN") return std::nan("");
  if (v == "+Inf" || v == "Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  std::string s(v);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    return Status::InvalidArgument("bad value '" + s + "'");
  }
  return d;
}

Status ParseLine(std::string_view line, MetricSample* out) {
  size_t i = 0;
  while (i < line.size() && NameChar(line[i], i == 0)) ++i;
  if (i == 0) return Bad(line, "no metric name");
  out->name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      size_t k = i;
      while (i < line.size() && NameChar(line[i], i == k)) ++i;
      if (i == k || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
        return Bad(line, "bad label");
      }
      std::string key(line.substr(k, i - k));
      i += 2;
      std::string value;
      for (;; ++i) {
        if (i >= line.size()) return Bad(line, "unterminated label value");
        char c = line[i];
        if (c == '"') break;
        if (c == '\\' && i + 1 < line.size()) {
          char e = line[++i];
          value.push_back(e == 'n' ? '\n' : e);
        } else {
          value.push_back(c);
        }
      }
      ++i;  // the closing quote
      out->labels[key] = std::move(value);
    }
  }
  while (i < line.size() && line[i] == ' ') ++i;
  size_t end = line.find(' ', i);
  std::string_view v = line.substr(i, end == std::string_view::npos ? line.size() - i : end - i);
  auto d = ParseValue(v);
  if (!d.ok()) return Bad(line, d.status().message());
  out->value = *d;
  return Status::OK();
}

bool Matches(const MetricSample& s, const std::map<std::string, std::string>& match) {
  for (const auto& [k, v] : match) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<MetricSample>> ParseMetricsText(std::string_view text) {
  std::vector<MetricSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    MetricSample s;
    RETURN_IF_ERROR(ParseLine(line, &s));
    out.push_back(std::move(s));
  }
  return out;
}

double MetricsSnapshot::Sum(std::string_view name,
                            const std::map<std::string, std::string>& match) const {
  double total = 0;
  for (const MetricSample& s : samples_) {
    if (s.name == name && Matches(s, match)) total += s.value;
  }
  return total;
}

double MetricsSnapshot::SumExcept(std::string_view name, const std::string& label,
                                  const std::string& value) const {
  double total = 0;
  for (const MetricSample& s : samples_) {
    if (s.name != name) continue;
    auto it = s.labels.find(label);
    if (it != s.labels.end() && it->second == value) continue;
    total += s.value;
  }
  return total;
}

bool MetricsSnapshot::Has(std::string_view name) const {
  for (const MetricSample& s : samples_) {
    if (s.name == name) return true;
  }
  return false;
}

}  // namespace strata
