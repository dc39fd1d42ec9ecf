#include "cache/peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <vector>

namespace strata::cache {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string RawHmac(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string DerivePeerSecret(std::string_view volume_uuid, std::string_view volume_name,
                             std::string_view settings_secret, std::string_view group) {
  std::string msg = "strata-peer/1\n";
  msg.append(volume_name).append("\n").append(settings_secret).append("\n").append(group);
  return RawHmac(volume_uuid, msg);
}

std::string PeerAuth::NewNonce() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    // No randomness from OpenSSL: fall back to the address of a stack byte and the time; a
    // nonce only has to differ between requests, it is not a secret.
    const uint64_t v = reinterpret_cast<uintptr_t>(&b) ^ static_cast<uint64_t>(time(nullptr));
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  }
  return Hex(b, sizeof(b));
}

std::string PeerAuth::Mac(std::string_view msg) const {
  const std::string raw = RawHmac(secret_, msg);
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string PeerAuth::SignRequest(std::string_view method, std::string_view key, uint64_t len,
                                  int64_t now_unix, std::string_view nonce) const {
  const std::string ts = std::to_string(now_unix);
  std::string msg = "req\n";
  msg.append(method).append("\n").append(key).append("\n").append(std::to_string(len));
  msg.append("\n").append(ts).append("\n").append(nonce);
  return std::to_string(kPeerProtocolVersion) + " " + ts + " " + std::string(nonce) + " " +
         Mac(msg);
}

Status PeerAuth::VerifyRequest(std::string_view method, std::string_view key, uint64_t len,
                               std::string_view header, int64_t now_unix,
                               std::string* nonce) const {
  // "2 UNIX NONCE MAC"
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= header.size()) {
    size_t sp = header.find(' ', start);
    if (sp == std::string_view::npos) sp = header.size();
    parts.push_back(header.substr(start, sp - start));
    start = sp + 1;
  }
  if (parts.size() != 4 || parts[0] != std::to_string(kPeerProtocolVersion)) {
    return Status(Code::kPermissionDenied,
                  "no valid peer auth (protocol " + std::to_string(kPeerProtocolVersion) + ")");
  }
  int64_t ts = 0;
  for (char c : parts[1]) {
    if (c < '0' || c > '9' || ts > (int64_t{1} << 40)) {
      return Status(Code::kPermissionDenied, "bad time in the peer auth");
    }
    ts = ts * 10 + (c - '0');
  }
  if (ts < now_unix - kMaxSkewSeconds || ts > now_unix + kMaxSkewSeconds) {
    return Status(Code::kPermissionDenied, "request time too far from this member's clock");
  }
  std::string msg = "req\n";
  msg.append(method).append("\n").append(key).append("\n").append(std::to_string(len));
  msg.append("\n").append(parts[1]).append("\n").append(parts[2]);
  if (!ConstantTimeEqual(Mac(msg), parts[3])) {
    return Status(Code::kPermissionDenied, "request not signed with this volume's group secret");
  }
  *nonce = std::string(parts[2]);
  return Status::OK();
}

std::string PeerAuth::SignReply(std::string_view nonce, int status, uint32_t crc,
                                uint64_t len) const {
  std::string msg = "reply\n";
  msg.append(nonce).append("\n").append(std::to_string(status)).append("\n").append(CrcHex(crc));
  msg.append("\n").append(std::to_string(len));
  return Mac(msg);
}

bool PeerAuth::VerifyReply(std::string_view nonce, int status, uint32_t crc, uint64_t len,
                           std::string_view mac) const {
  return ConstantTimeEqual(SignReply(nonce, status, crc, len), mac);
}

std::string CrcHex(uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", crc);
  return buf;
}

bool ParseCrcHex(std::string_view text, uint32_t* crc) {
  if (text.size() != 8) return false;
  uint32_t v = 0;
  for (char c : text) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= static_cast<uint32_t>(c - 'a' + 10);
    else
      return false;
  }
  *crc = v;
  return true;
}

}  // namespace strata::cache
