#include "common/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace strata {

Result<uint64_t> ParseSize(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("bad size '" + std::string(text) + "': " + std::string(why) +
                                   " (use e.g. 4096, 4K, 512M, 1.5G)");
  };
  size_t pos = 0;
  bool dot = false;
  while (pos < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[pos])) || (text[pos] == '.' && !dot))) {
    dot |= text[pos] == '.';
    ++pos;
  }
  std::string number(text.substr(0, pos));
  if (number.empty() || number == ".") return bad("no number");
  std::string unit;
  for (char c : text.substr(pos)) unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.size() > 1 && unit.ends_with("B")) unit.resize(unit.size() - 1);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  else if (unit == "P") shift = 50;
  else return bad("unknown unit");
  if (dot && shift == 0) return bad("a fraction of a byte");
  long double value = std::strtold(number.c_str(), nullptr);
  long double bytes = std::ldexp(value, shift);
  if (!std::isfinite(bytes) || bytes >= 18446744073709551615.0L) return bad("too large");
  return static_cast<uint64_t>(bytes);
}

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v,
                kUnits[u]);
  return buf;
}

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string FormatDuration(double seconds) {
  char buf[32];
  if (seconds < 0) seconds = 0;
  if (seconds < 1) {
    std::snprintf(buf, sizeof(buf), "%.0f ms", seconds * 1000);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%.0f s", std::floor(seconds));
  } else if (seconds < 3600) {
    auto s = static_cast<uint64_t>(seconds);
    std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    auto m = static_cast<uint64_t>(seconds / 60);
    std::snprintf(buf, sizeof(buf), "%lluh%02llum", static_cast<unsigned long long>(m / 60),
                  static_cast<unsigned long long>(m % 60));
  }
  return buf;
}

}  // namespace strata
