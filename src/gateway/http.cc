#include "gateway/http.h"

namespace strata::gateway {
namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string HttpRequest::Header(std::string_view lower_name) const {
  std::string out;
  bool first = true;
  for (const auto& [n, v] : headers) {
    if (n != lower_name) continue;
    if (!first) out += ',';
    out += v;
    first = false;
  }
  return out;
}

bool HttpRequest::HasHeader(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.first == lower_name) return true;
  }
  return false;
}

std::string HttpRequest::Query(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return v;
  }
  return "";
}

bool HttpRequest::HasQuery(std::string_view name) const {
  for (const auto& q : query) {
    if (q.first == name) return true;
  }
  return false;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Pairs SplitQuery(std::string_view raw) {
  Pairs out;
  size_t pos = 0;
  while (pos <= raw.size() && !raw.empty()) {
    size_t amp = raw.find('&', pos);
    if (amp == std::string_view::npos) amp = raw.size();
    std::string_view part = raw.substr(pos, amp - pos);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(PercentDecode(part), "");
      } else {
        out.emplace_back(PercentDecode(part.substr(0, eq)), PercentDecode(part.substr(eq + 1)));
      }
    }
    pos = amp + 1;
  }
  return out;
}

}  // namespace strata::gateway
