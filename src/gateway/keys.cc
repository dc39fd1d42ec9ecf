#include "gateway/keys.h"

namespace strata::gateway {
namespace {

std::optional<S3Error> CheckSegment(const std::string& seg, const std::string& key) {
  if (seg.empty()) return InvalidArgument("empty path segment in key: " + key);
  if (seg == "." || seg == "..") return InvalidArgument("'.' and '..' are not allowed in keys");
  if (seg.size() > kMaxNameBytes) return KeyTooLong();
  if (seg.find('\0') != std::string::npos) return InvalidArgument("NUL in key");
  return std::nullopt;
}

}  // namespace

std::optional<S3Error> CheckBucketName(const std::string& bucket) {
  if (bucket.empty() || bucket.size() > kMaxNameBytes || bucket[0] == '.' ||
      bucket.find('\0') != std::string::npos || bucket.find('/') != std::string::npos) {
    return InvalidBucketName(bucket);
  }
  return std::nullopt;
}

std::optional<S3Error> CheckNewBucketName(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return InvalidBucketName(bucket);
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : bucket) {
    if (!alnum(c) && c != '.' && c != '-') return InvalidBucketName(bucket);
  }
  if (!alnum(bucket.front()) || !alnum(bucket.back())) return InvalidBucketName(bucket);
  if (bucket.find("..") != std::string::npos) return InvalidBucketName(bucket);
  return std::nullopt;
}

std::variant<KeyPath, S3Error> ParseKey(const std::string& key) {
  if (key.empty()) return InvalidArgument("empty key");
  if (key.size() > kMaxKeyBytes) return KeyTooLong();
  KeyPath out;
  out.key = key;
  std::string body = key;
  if (body.back() == '/') {
    out.folder = true;
    body.pop_back();
  }
  size_t pos = 0;
  std::vector<std::string> segs;
  while (true) {
    size_t next = body.find('/', pos);
    std::string seg = body.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (auto e = CheckSegment(seg, key)) return *e;
    segs.push_back(std::move(seg));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  if (out.folder) {
    out.dirs = std::move(segs);
  } else {
    out.name = segs.back();
    segs.pop_back();
    out.dirs = std::move(segs);
  }
  return out;
}

std::optional<S3Error> CheckPrefix(const std::string& prefix) {
  if (prefix.size() > kMaxKeyBytes) return KeyTooLong();
  size_t slash = prefix.rfind('/');
  if (slash == std::string::npos) {
    if (prefix.find('\0') != std::string::npos) return InvalidArgument("NUL in prefix");
    return std::nullopt;
  }
  auto parsed = ParseKey(prefix.substr(0, slash + 1));
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  if (prefix.find('\0', slash) != std::string::npos) return InvalidArgument("NUL in prefix");
  return std::nullopt;
}

}  // namespace strata::gateway
