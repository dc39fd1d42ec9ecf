#include "object/file_util.h"

namespace strata::object::file_util {

namespace {
constexpr size_t kMaxName = 255;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is not canonical
}
}  // namespace

Result<std::string> EncodeSegment(std::string_view segment) {
  std::string out;
  if (segment.empty()) {
    out = "%";
  } else if (segment == ".") {
    out = "%2E";
  } else if (segment == "..") {
    out = "%2E%2E";
  } else {
    out.reserve(segment.size());
    for (char c : segment) {
      if (c == '%') {
        out += "%25";
      } else if (c == '\0') {
        out += "%00";
      } else {
        out += c;
      }
    }
  }
  if (out.size() > kMaxName) {
    return Status(Code::kNameTooLong, "key segment longer than 255 bytes: " +
                                          std::string(segment.substr(0, 32)) + "...");
  }
  return out;
}

std::optional<std::string> DecodeName(std::string_view name) {
  if (name == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      out += name[i];
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    int hi = HexValue(name[i + 1]);
    int lo = HexValue(name[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  // Only the canonical spelling counts, so no two files decode to the same key.
  Result<std::string> again = EncodeSegment(out);
  if (!again.ok() || *again != name) return std::nullopt;
  return out;
}

Status RemoveTree(Env& env, const std::string& path) {
  Result<std::vector<DirEntry>> entries = env.ListDir(path);
  if (!entries.ok()) {
    if (entries.status().Is(Code::kNotFound)) return Status::OK();
    if (!entries.status().Is(Code::kNotDir)) return entries.status();
    Status s = env.RemoveFile(path);  // a file (or a link) where a directory was expected
    return s.Is(Code::kNotFound) ? Status::OK() : s;
  }
  for (const DirEntry& e : *entries) {
    const std::string child = JoinPath(path, e.name);
    Status s = e.type == FileType::kDirectory ? RemoveTree(env, child) : env.RemoveFile(child);
    if (!s.ok() && !s.Is(Code::kNotFound)) return s;
  }
  Status s = env.RemoveDir(path);
  return s.Is(Code::kNotFound) ? Status::OK() : s;
}

}  // namespace strata::object::file_util
