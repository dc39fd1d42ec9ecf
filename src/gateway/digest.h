// Streaming MD5 (ETags, Content-MD5) and SHA-256 (x-amz-content-sha256) over OpenSSL's EVP
// interface, fed piece by piece as a body streams through.
//
// Thread-safety: one Digest per thread. Errors: none (OpenSSL's digest calls cannot fail for
// these algorithms once the context exists).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace strata::gateway {

class Digest {
 public:
  static Digest Md5();
  static Digest Sha256();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  ~Digest();
  void Update(std::string_view data);
  // The digest (binary); the object may not be updated afterwards.
  std::string Final();

 private:
  explicit Digest(const void* md);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Hex(std::string_view binary);
std::string Base64(std::string_view binary);
// Decodes standard base64; "" for malformed input.
std::string Unbase64(std::string_view text);

}  // namespace strata::gateway
