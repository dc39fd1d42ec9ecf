#include "object/key_listing.h"

#include <algorithm>

namespace strata::object {

namespace {
constexpr int kMaxKeys = 1000;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

Status CheckKey(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  if (key.size() > 1024) {
    return Status::InvalidArgument("object key longer than 1024 bytes: " + key.substr(0, 64) +
                                   "...");
  }
  return Status::OK();
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<unsigned char>(s.back());
    if (last != 0xff) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

Result<ListResult> ListFromCursor(KeyCursor& cursor, const ListOptions& opts) {
  if (opts.limit < 1) {
    return Status::InvalidArgument("list limit must be at least 1, got " +
                                   std::to_string(opts.limit));
  }
  const int limit = std::min(opts.limit, kMaxKeys);
  const std::string& prefix = opts.prefix;

  // Every key before `target` is out of this page.
  std::string target = prefix;
  auto raise = [&target](std::string t) {
    if (t > target) target = std::move(t);
  };
  if (!opts.start_after.empty()) raise(opts.start_after + '\0');
  ListResult result;
  if (!opts.continuation.empty()) {
    char kind = opts.continuation[0];
    std::string value = opts.continuation.substr(1);
    if (kind == 'K') {
      raise(value + '\0');
    } else if (kind == 'P' && !value.empty()) {
      std::string succ = PrefixSuccessor(value);
      if (succ.empty()) return result;  // nothing sorts after that prefix
      raise(std::move(succ));
    } else {
      return Status::InvalidArgument("malformed list continuation token");
    }
  }

  int count = 0;
  std::string last_token;
  RETURN_IF_ERROR(cursor.Seek(target));
  while (cursor.Valid()) {
    const std::string& key = cursor.key();
    if (!StartsWith(key, prefix)) break;  // sorted: nothing further can match
    if (!opts.delimiter.empty()) {
      size_t pos = key.find(opts.delimiter, prefix.size());
      if (pos != std::string::npos) {
        std::string common = key.substr(0, pos + opts.delimiter.size());
        if (count == limit) {
          result.truncated = true;
          break;
        }
        result.common_prefixes.push_back(common);
        ++count;
        last_token = "P" + common;
        std::string succ = PrefixSuccessor(common);
        if (succ.empty()) break;
        RETURN_IF_ERROR(cursor.Seek(succ));
        continue;
      }
    }
    if (count == limit) {
      result.truncated = true;
      break;
    }
    Result<ObjectInfo> info = cursor.Info();
    if (info.ok()) {
      info->key = key;
      last_token = "K" + key;
      result.objects.push_back(std::move(*info));
      ++count;
    } else if (!info.status().Is(Code::kNotFound)) {
      return info.status();
    }  // else: deleted while we listed; S3 would not show it either
    RETURN_IF_ERROR(cursor.Next());
  }
  if (result.truncated) result.next_continuation = last_token;
  return result;
}

}  // namespace strata::object
