#include "common/uri.h"

#include <cctype>
#include <charconv>

namespace strata {

namespace {

constexpr std::string_view kSep = "://";

// The URL with anything between the first ':' of the userinfo and the last '@' of the
// authority replaced by "****", so that error messages never echo a password.
std::string MaskRaw(std::string_view text) {
  size_t sep = text.find(kSep);
  if (sep == std::string_view::npos) return std::string(text);
  size_t auth_begin = sep + kSep.size();
  size_t auth_end = text.find_first_of("/?", auth_begin);
  if (auth_end == std::string_view::npos) auth_end = text.size();
  std::string_view auth = text.substr(auth_begin, auth_end - auth_begin);
  size_t at = auth.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  size_t colon = auth.find(':');
  if (colon == std::string_view::npos || colon > at) return std::string(text);
  std::string out(text.substr(0, auth_begin + colon + 1));
  out += "****";
  out += text.substr(auth_begin + at);
  return out;
}

Status Bad(std::string_view text, std::string_view what) {
  std::string m(what);
  m += " in URL '";
  m += MaskRaw(text);
  m += "'";
  return Status::InvalidArgument(m);
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one "host[:port]" (or "[v6]:port") into `out`.
Status ParseHostPort(std::string_view full, std::string_view hp, HostPort* out) {
  std::string_view host = hp;
  std::string_view port;
  bool has_port = false;
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string_view::npos)
      return Bad(full, "unterminated IPv6 literal (missing ']')");
    host = hp.substr(1, close - 1);
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Bad(full, "unexpected '" + std::string(rest) + "' after IPv6 literal");
      }
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = hp.rfind(':');
    if (colon != std::string_view::npos) {
      host = hp.substr(0, colon);
      port = hp.substr(colon + 1);
      has_port = true;
    }
  }
  out->host = std::string(host);
  out->port = 0;
  if (has_port) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return Bad(full, "bad port '" + std::string(port) + "' (expected 1-65535)");
    }
    out->port = value;
  }
  return Status::OK();
}

Status ParseQuery(std::string_view full, std::string_view q,
                  std::map<std::string, std::string>* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto key = PercentDecode(item.substr(0, eq));
    if (!key.ok()) return Bad(full, key.status().message());
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = PercentDecode(item.substr(eq + 1));
      if (!v.ok()) return Bad(full, v.status().message());
      value = std::move(*v);
    }
    (*out)[*key] = std::move(value);
  }
  return Status::OK();
}

std::string Render(const Uri& u, bool mask) {
  std::string s = u.scheme + "://";
  if (!u.user.empty() || u.has_password) {
    s += PercentEncode(u.user, false);
    if (u.has_password) s += ":" + (mask ? std::string("****") : PercentEncode(u.password, false));
    s += "@";
  }
  if (u.hosts.size() > 1) {
    s += u.host;
  } else {
    bool v6 = u.host.find(':') != std::string::npos;
    s += v6 ? "[" + u.host + "]" : u.host;
    if (u.port != 0) s += ":" + std::to_string(u.port);
  }
  s += PercentEncode(u.path, true);
  char sep = '?';
  for (const auto& [k, v] : u.query) {
    s += sep;
    s += PercentEncode(k, false) + "=" + PercentEncode(v, false);
    sep = '&';
  }
  return s;
}

}  // namespace

std::string Uri::ToString() const { return Render(*this, false); }
std::string Uri::Masked() const { return Render(*this, true); }

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("bad percent-escape '" + std::string(s.substr(i, 3)) +
                                     "' at offset " + std::to_string(i) +
                                     " (expected % and two hex digits)");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string PercentEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<Uri> ParseUri(std::string_view text) {
  size_t sep = text.find(kSep);
  if (sep == std::string_view::npos || sep == 0) {
    return Bad(text, "missing scheme (expected scheme://...)");
  }
  Uri u;
  std::string_view scheme = text.substr(0, sep);
  for (size_t i = 0; i < scheme.size(); i++) {
    auto c = static_cast<unsigned char>(scheme[i]);
    bool ok = std::isalpha(c) || (i > 0 && (std::isdigit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return Bad(text, "bad character '" + std::string(1, scheme[i]) + "' in scheme");
    u.scheme.push_back(static_cast<char>(std::tolower(c)));
  }

  std::string_view rest = text.substr(sep + kSep.size());
  size_t auth_end = rest.find_first_of("/?");
  std::string_view auth = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);

  // userinfo: up to the last '@' (an unescaped '@' in a password is common enough).
  size_t at = auth.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = auth.substr(0, at);
    auth = auth.substr(at + 1);
    size_t colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon));
    if (!user.ok()) return Bad(text, "bad percent-escape in user name");
    u.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto pw = PercentDecode(userinfo.substr(colon + 1));
      if (!pw.ok()) return Bad(text, "bad percent-escape in password");
      u.password = std::move(*pw);
      u.has_password = true;
    }
  }

  if (!auth.empty()) {
    std::string_view list = auth;
    while (true) {
      size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      if (item.empty()) return Bad(text, "empty host in host list");
      HostPort hp;
      RETURN_IF_ERROR(ParseHostPort(text, item, &hp));
      if (hp.host.empty()) return Bad(text, "empty host before ':" + std::to_string(hp.port) + "'");
      u.hosts.push_back(std::move(hp));
      if (comma == std::string_view::npos) break;
      list = list.substr(comma + 1);
    }
    if (u.hosts.size() == 1) {
      u.host = u.hosts[0].host;
      u.port = u.hosts[0].port;
    } else {
      u.host = std::string(auth);
    }
  }

  size_t q = rest.find('?');
  auto path = PercentDecode(rest.substr(0, q));
  if (!path.ok()) return Bad(text, std::string(path.status().message()) + " in path");
  u.path = std::move(*path);
  if (q != std::string_view::npos) RETURN_IF_ERROR(ParseQuery(text, rest.substr(q + 1), &u.query));
  return u;
}

}  // namespace strata
