// Verification of AWS Signature Version 4 on requests the gateway receives: the Authorization
// header form, presigned query URLs (X-Amz-Expires at most 7 days) and the per-chunk
// signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies (AwsChunkedDecoder). The canonical
// request is rebuilt with the same functions the S3 client signs with (object/s3/sigv4.h):
// the decoded path re-encoded by S3's rules, the query re-encoded and sorted, the signed
// headers trimmed, so any client that signs by the S3 rules verifies here.
//
// Time: the caller passes "now"; a request whose X-Amz-Date is more than 15 minutes away from
// it is RequestTimeTooSkewed (header form), a presigned URL is refused before its date minus
// 15 minutes and after its date plus X-Amz-Expires.
//
// Thread-safety: pure functions; an AwsChunkedDecoder belongs to one request.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "gateway/http.h"
#include "gateway/s3_error.h"

namespace strata::gateway {

inline constexpr int64_t kMaxSkewSeconds = 15 * 60;
inline constexpr int64_t kMaxPresignSeconds = 7 * 24 * 3600;

enum class PayloadMode {
  kUnsigned,   // UNSIGNED-PAYLOAD (presigned URLs always)
  kHashed,     // x-amz-content-sha256 is the hex SHA-256 of the body: check it at the end
  kStreaming,  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked body, each chunk signed
};

struct VerifiedRequest {
  bool anonymous = true;      // no signature at all (only public reads may pass)
  std::string access_key;
  PayloadMode payload = PayloadMode::kUnsigned;
  std::string payload_sha256;  // kHashed
  // kStreaming: what chains the chunk signatures.
  std::string signing_key;
  std::string amz_date;
  std::string region;
  std::string seed_signature;
};

// Looks up the secret of an access key; nullopt: no such key (InvalidAccessKeyId).
using SecretLookup = std::function<std::optional<std::string>(const std::string& access_key)>;

// Verifies the request's signature, whichever form it has. No signature: anonymous. Errors are
// the S3 errors to answer (403 AccessDenied / SignatureDoesNotMatch / InvalidAccessKeyId /
// RequestTimeTooSkewed, 400 for a malformed Authorization).
std::variant<VerifiedRequest, S3Error> VerifySignature(const HttpRequest& req,
                                                       const SecretLookup& secrets,
                                                       int64_t now_unix);

// Decodes an aws-chunked body: "hex-size;chunk-signature=SIG\r\n" DATA "\r\n" ..., ending with
// a zero-size chunk. Each chunk's signature is checked (chained from the seed signature)
// before its data is passed on; a chunk larger than max_chunk is refused (bounded memory).
class AwsChunkedDecoder {
 public:
  AwsChunkedDecoder(const VerifiedRequest& v, size_t max_chunk = 16 << 20);
  // Feeds raw body bytes; verified chunk data goes to out. The first error sticks.
  Status Feed(std::string_view data, const std::function<Status(std::string_view)>& out);
  // OK only when the final (empty) chunk was seen and verified.
  Status Finish() const;
  uint64_t decoded_bytes() const { return decoded_; }

 private:
  Status Step(const std::function<Status(std::string_view)>& out, bool* progressed);
  VerifiedRequest v_;
  size_t max_chunk_;
  std::string buf_;
  std::string prev_sig_;
  bool done_ = false;
  Status error_;
  uint64_t decoded_ = 0;
};

}  // namespace strata::gateway
