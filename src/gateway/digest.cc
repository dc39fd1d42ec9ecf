#include "gateway/digest.h"

#include <openssl/evp.h>

namespace strata::gateway {

struct Digest::Ctx {
  EVP_MD_CTX* ctx = nullptr;
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(const void* md) : ctx_(std::make_unique<Ctx>()) {
  ctx_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx_->ctx, static_cast<const EVP_MD*>(md), nullptr);
}
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;
Digest::~Digest() = default;

Digest Digest::Md5() { return Digest(EVP_md5()); }
Digest Digest::Sha256() { return Digest(EVP_sha256()); }

void Digest::Update(std::string_view data) {
  EVP_DigestUpdate(ctx_->ctx, data.data(), data.size());
}

std::string Digest::Final() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_->ctx, md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string Hex(std::string_view b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Base64(std::string_view b) {
  std::string out(4 * ((b.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b.data()),
                          static_cast<int>(b.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Unbase64(std::string_view t) {
  if (t.empty() || t.size() % 4 != 0) return "";
  std::string out(3 * t.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(t.data()),
                          static_cast<int>(t.size()));
  if (n < 0) return "";
  size_t pad = 0;
  if (t.back() == '=') ++pad;
  if (t.size() > 1 && t[t.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace strata::gateway
