// Content tags for the local backends (mem://, file://): a 64-bit FNV-1a hash of the body in
// hex. Not MD5 like S3's ETag: the tag only has to tell bodies apart for multipart part
// checks and listings, and FNV needs no library. Incremental so that file:// can hash while
// it copies.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace strata::object {

class ContentTag {
 public:
  void Update(std::string_view data) {
    for (unsigned char c : data) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hash_));
    return buf;
  }
  static std::string Of(std::string_view data) {
    ContentTag t;
    t.Update(data);
    return t.Hex();
  }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace strata::object
