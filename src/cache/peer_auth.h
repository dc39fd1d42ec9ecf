// PeerAuth: who may talk to a cache group member, and how a reply is tied to its request
// (docs/format/peer-protocol.md, version 2).
//
// The group secret is derived from the volume, so only mounts of the same volume (which read
// its format record from the metadata engine) know it:
//
//   secret = HMAC-SHA256(key = volume UUID,
//                        msg = "strata-peer/1\n" + volume name + "\n" + settings secret +
//                              "\n" + group name)
//
// where the settings secret is the volume's object-store secret key ("" when it has none).
// A mount of another volume, or a stranger, cannot compute it and gets 403 for every request.
//
// Each request carries the auth text `2 UNIX NONCE MAC` (peer_wire.h) with
// MAC = hex HMAC-SHA256(secret, "req\n" + method + "\n" + key + "\n" + len + "\n" + UNIX + "\n" +
// NONCE); the server refuses a MAC that does not match or a UNIX time more than kMaxSkew from
// its own clock. Each reply carries the MAC `hex HMAC-SHA256(secret, "reply\n" + NONCE + "\n" +
// status + "\n" + crc32c hex + "\n" + body length)` so that only a member can answer, and the
// CRC32C of the body, which the client checks. Bodies are not
// encrypted or MACed as a whole (see the format doc: integrity against accidents is the
// CRC32C, authenticity of the answer is the reply MAC).
//
// Thread-safety: immutable after construction; every method may be called concurrently.
// Errors: VerifyRequest returns kPermissionDenied with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::cache {

inline constexpr int kPeerProtocolVersion = 2;

std::string DerivePeerSecret(std::string_view volume_uuid, std::string_view volume_name,
                             std::string_view settings_secret, std::string_view group);

class PeerAuth {
 public:
  static constexpr int64_t kMaxSkewSeconds = 900;

  explicit PeerAuth(std::string secret) : secret_(std::move(secret)) {}

  // A fresh random nonce (16 hex digits).
  static std::string NewNonce();
  // The auth text of a request.
  std::string SignRequest(std::string_view method, std::string_view key, uint64_t len,
                          int64_t now_unix, std::string_view nonce) const;
  // Checks a request's auth text; on success *nonce is its nonce (to sign the reply with).
  Status VerifyRequest(std::string_view method, std::string_view key, uint64_t len,
                       std::string_view header, int64_t now_unix, std::string* nonce) const;
  std::string SignReply(std::string_view nonce, int status, uint32_t crc, uint64_t len) const;
  bool VerifyReply(std::string_view nonce, int status, uint32_t crc, uint64_t len,
                   std::string_view mac) const;

 private:
  std::string Mac(std::string_view msg) const;
  const std::string secret_;
};

// Hex of a CRC32C, 8 digits, and back (false when malformed).
std::string CrcHex(uint32_t crc);
bool ParseCrcHex(std::string_view text, uint32_t* crc);

}  // namespace strata::cache
