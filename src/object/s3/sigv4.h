// AWS Signature Version 4 for S3: a pure function of (request, credentials, region, time).
//
// No I/O and no clock: the caller passes the time, so the same inputs always give the same
// signature (that is how sigv4_test.cc checks us against botocore). Two forms:
//   * SignRequest: the Authorization header form. Returns the headers to add (x-amz-date,
//     x-amz-content-sha256, x-amz-security-token when a session token is set, Authorization).
//   * Presign: the query-string form (a presigned URL, X-Amz-Expires etc.); the payload is
//     always UNSIGNED-PAYLOAD there, as the S3 spec says.
//
// S3's encoding rules (which differ from other AWS services): the path is not normalised; each
// byte outside A-Z a-z 0-9 - . _ ~ is percent-encoded with upper-case hex, and '/' is kept.
// Query names and values are encoded the same way with '/' encoded too, then sorted by name,
// then value. The caller must send exactly the path and query these functions encode
// (EncodePath, CanonicalQuery), so the URL and the signature always agree.
//
// The verifying side (the S3 gateway, src/gateway/sigv4_verify.h) rebuilds the same canonical
// request from what it received and calls the same pieces (CanonicalRequest, StringToSign,
// SigningKey), so signer and verifier cannot drift apart. Streaming uploads
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) chain one signature per chunk: ChunkSignature.
//
// OpenSSL does SHA-256 and HMAC. Thread-safety: pure functions. Errors: none; garbage in gives
// a signature the server will refuse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::object::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty: none
};

// The parts of an HTTP request that SigV4 covers. Strings are raw (not percent-encoded).
struct SigningRequest {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // the Host header value: "host" or "host:port" (non-default port)
  std::string path;    // raw path, begins with '/', e.g. "/bucket/a key+"
  std::vector<std::pair<std::string, std::string>> query;    // raw names and values
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers to sign
  // Hex SHA-256 of the body, or kUnsignedPayload.
  std::string payload_hash;
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kService = "s3";

// S3 URI encoding of one string; '/' is kept when keep_slash (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);
// The path as it must be sent and signed: UriEncode(path, true).
inline std::string EncodePath(std::string_view path) { return UriEncode(path, true); }
// "a=1&b=&c=x%20y": names and values encoded, sorted by encoded name then value.
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);

// Lower-case hex SHA-256 of data.
std::string Sha256Hex(std::string_view data);
// The same over pieces sent back to back: Sha256Hex of their concatenation, without making it.
std::string Sha256Hex(const std::vector<std::string_view>& parts);
// The hash of an empty body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "20130524T000000Z" for a Unix time in seconds.
std::string AmzDate(int64_t unix_seconds);

// Everything SigV4 derives from a request; exposed for tests and debugging of 403s.
struct SigningDetails {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-content-sha256;x-amz-date"
  std::string signature;       // lower-case hex
};

// Header form. The returned headers (lower-case names) must be sent along with req.headers and
// a Host header equal to req.host. `details`, when non-null, receives the intermediate strings.
std::vector<std::pair<std::string, std::string>> SignRequest(const SigningRequest& req,
                                                             const Credentials& creds,
                                                             std::string_view region,
                                                             int64_t unix_seconds,
                                                             SigningDetails* details = nullptr);

// Query form: the complete query string to send (the request's own parameters, the X-Amz-*
// parameters, and X-Amz-Signature last). req.payload_hash is ignored (UNSIGNED-PAYLOAD).
std::string Presign(const SigningRequest& req, const Credentials& creds, std::string_view region,
                    int64_t unix_seconds, int64_t expires_seconds,
                    SigningDetails* details = nullptr);

// ---- Pieces shared by signer and verifier.
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
// "20130524/us-east-1/s3/aws4_request" for an amz date (or its first 8 characters).
std::string CredentialScope(std::string_view amz_date, std::string_view region);
// SigV4 "Trimall" of a header value: outer whitespace stripped, inner runs made one space.
std::string TrimHeaderValue(std::string_view v);
// method \n encoded path \n canonical query \n canonical headers \n signed names \n hash.
// `canonical_headers` is the "name:value\n" block already built (lower-case, sorted).
std::string CanonicalRequest(std::string_view method, std::string_view raw_path,
                             std::string_view canonical_query,
                             std::string_view canonical_headers, std::string_view signed_names,
                             std::string_view payload_hash);
std::string StringToSign(std::string_view amz_date, std::string_view region,
                         std::string_view canonical_request);
// The derived key (binary) of a secret for one day, region and the s3 service.
std::string SigningKey(std::string_view secret_key, std::string_view amz_date,
                       std::string_view region);
// Lower-case hex HMAC-SHA256 of msg under key.
std::string HmacSha256Hex(std::string_view key, std::string_view msg);
// The signature of one chunk of a streaming upload: chained on the previous signature (the
// seed signature of the request's Authorization header for the first chunk).
std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view region, std::string_view previous_signature,
                           std::string_view chunk_data);

}  // namespace strata::object::s3
