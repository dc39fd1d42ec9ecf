#include "gateway/sigv4_verify.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

#include "object/s3/sigv4.h"

namespace strata::gateway {
namespace {

namespace s3 = strata::object::s3;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t next = s.find(sep, pos);
    out.emplace_back(s.substr(pos, next == std::string_view::npos ? next : next - pos));
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return out;
}

bool SameSignature(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool IsAmzDate(const std::string& d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return false;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && (d[i] < '0' || d[i] > '9')) return false;
  }
  return true;
}

// Unix seconds of "20130524T000000Z".
int64_t AmzDateSeconds(const std::string& d) {
  struct tm tm {};
  tm.tm_year = std::stoi(d.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(d.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(d.substr(6, 2));
  tm.tm_hour = std::stoi(d.substr(9, 2));
  tm.tm_min = std::stoi(d.substr(11, 2));
  tm.tm_sec = std::stoi(d.substr(13, 2));
  return static_cast<int64_t>(timegm(&tm));
}

struct Credential {
  std::string access_key, date, region;
};

std::optional<Credential> ParseCredential(const std::string& c) {
  std::vector<std::string> parts = Split(c, '/');
  if (parts.size() < 5) return std::nullopt;
  size_t n = parts.size();
  if (parts[n - 1] != "aws4_request" || parts[n - 2] != "s3" || parts[n - 4].size() != 8) {
    return std::nullopt;
  }
  Credential out;
  for (size_t i = 0; i + 4 < n; ++i) {
    if (i > 0) out.access_key += '/';
    out.access_key += parts[i];
  }
  out.date = parts[n - 4];
  out.region = parts[n - 3];
  return out;
}

// "name:value\n" for each signed header (values trimmed, repeats joined by ','), as signed.
std::optional<std::string> CanonicalHeaders(const HttpRequest& req,
                                            const std::vector<std::string>& names) {
  std::string block;
  for (const std::string& name : names) {
    if (name.empty()) return std::nullopt;
    std::string value;
    bool found = false;
    for (const auto& [n, v] : req.headers) {
      if (n != name) continue;
      if (found) value += ',';
      value += s3::TrimHeaderValue(v);
      found = true;
    }
    if (!found) return std::nullopt;
    block += name + ":" + value + "\n";
  }
  return block;
}

using Outcome = std::variant<VerifiedRequest, S3Error>;

Outcome Check(const HttpRequest& req, const SecretLookup& secrets, const Credential& cred,
              const std::string& amz_date, const std::string& signed_headers,
              const Pairs& query, const std::string& payload_hash, const std::string& signature,
              VerifiedRequest v) {
  if (cred.date != amz_date.substr(0, 8)) {
    return SignatureDoesNotMatch("credential date does not match the request date");
  }
  std::vector<std::string> names = Split(signed_headers, ';');
  if (std::find(names.begin(), names.end(), "host") == names.end()) {
    return AccessDenied("the host header must be signed");
  }
  auto headers = CanonicalHeaders(req, names);
  if (!headers) return SignatureDoesNotMatch("a signed header is missing");
  std::optional<std::string> secret = secrets(cred.access_key);
  if (!secret) return InvalidAccessKeyId();
  std::string cr = s3::CanonicalRequest(req.method, req.path, s3::CanonicalQuery(query), *headers,
                                        signed_headers, payload_hash);
  std::string key = s3::SigningKey(*secret, amz_date, cred.region);
  std::string expected = s3::HmacSha256Hex(key, s3::StringToSign(amz_date, cred.region, cr));
  if (!SameSignature(expected, signature)) {
    return SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.");
  }
  v.anonymous = false;
  v.access_key = cred.access_key;
  v.signing_key = std::move(key);
  v.amz_date = amz_date;
  v.region = cred.region;
  v.seed_signature = signature;
  return v;
}

Outcome VerifyHeader(const HttpRequest& req, const SecretLookup& secrets, int64_t now) {
  const std::string auth = req.Header("authorization");
  if (auth.rfind("AWS4-HMAC-SHA256 ", 0) != 0) {
    return InvalidRequest("only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported");
  }
  std::string credential, signed_headers, signature;
  for (const std::string& part : Split(std::string_view(auth).substr(17), ',')) {
    std::string p = Trim(part);
    size_t eq = p.find('=');
    if (eq == std::string::npos) continue;
    std::string name = p.substr(0, eq), value = p.substr(eq + 1);
    if (name == "Credential") credential = value;
    if (name == "SignedHeaders") signed_headers = value;
    if (name == "Signature") signature = value;
  }
  auto cred = ParseCredential(credential);
  if (!cred || signed_headers.empty() || signature.empty()) {
    return InvalidArgument("malformed Authorization header");
  }
  std::string amz_date = req.Header("x-amz-date");
  if (!IsAmzDate(amz_date)) return AccessDenied("X-Amz-Date is missing or malformed");
  int64_t t = AmzDateSeconds(amz_date);
  if (t > now + kMaxSkewSeconds || t < now - kMaxSkewSeconds) return RequestTimeTooSkewed();
  std::string hash = req.Header("x-amz-content-sha256");
  VerifiedRequest v;
  if (hash == s3::kUnsignedPayload) {
    v.payload = PayloadMode::kUnsigned;
  } else if (hash == s3::kStreamingPayload) {
    v.payload = PayloadMode::kStreaming;
  } else if (hash.size() == 64 &&
             std::all_of(hash.begin(), hash.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
             })) {
    v.payload = PayloadMode::kHashed;
    v.payload_sha256 = hash;
  } else if (hash.empty()) {
    return InvalidRequest("missing x-amz-content-sha256 header");
  } else {
    return NotImplemented("x-amz-content-sha256 '" + hash + "'");
  }
  return Check(req, secrets, *cred, amz_date, signed_headers, req.query, hash, signature, v);
}

Outcome VerifyPresigned(const HttpRequest& req, const SecretLookup& secrets, int64_t now) {
  if (req.Query("X-Amz-Algorithm") != "AWS4-HMAC-SHA256") {
    return InvalidRequest("only AWS4-HMAC-SHA256 presigned URLs are supported");
  }
  auto cred = ParseCredential(req.Query("X-Amz-Credential"));
  std::string amz_date = req.Query("X-Amz-Date");
  std::string expires_text = req.Query("X-Amz-Expires");
  std::string signed_headers = req.Query("X-Amz-SignedHeaders");
  std::string signature = req.Query("X-Amz-Signature");
  if (!cred || !IsAmzDate(amz_date) || signed_headers.empty() || signature.empty() ||
      expires_text.empty() || expires_text.size() > 7 ||
      !std::all_of(expires_text.begin(), expires_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return AccessDenied("malformed presigned URL");
  }
  int64_t expires = std::stoll(expires_text);
  if (expires < 1 || expires > kMaxPresignSeconds) {
    return AccessDenied("X-Amz-Expires must be between 1 and 604800 seconds");
  }
  int64_t t = AmzDateSeconds(amz_date);
  if (now < t - kMaxSkewSeconds) return AccessDenied("Request is not valid yet");
  if (now > t + expires) return AccessDenied("Request has expired");
  Pairs query;
  for (const auto& q : req.query) {
    if (q.first != "X-Amz-Signature") query.push_back(q);
  }
  VerifiedRequest v;
  v.payload = PayloadMode::kUnsigned;
  return Check(req, secrets, *cred, amz_date, signed_headers, query,
               std::string(s3::kUnsignedPayload), signature, v);
}

}  // namespace

std::variant<VerifiedRequest, S3Error> VerifySignature(const HttpRequest& req,
                                                       const SecretLookup& secrets,
                                                       int64_t now_unix) {
  if (req.HasHeader("authorization")) return VerifyHeader(req, secrets, now_unix);
  if (req.HasQuery("X-Amz-Signature") || req.HasQuery("X-Amz-Credential")) {
    return VerifyPresigned(req, secrets, now_unix);
  }
  if (req.HasQuery("Signature") || req.HasQuery("AWSAccessKeyId")) {
    return InvalidRequest("only AWS Signature Version 4 is supported");
  }
  return VerifiedRequest{};  // anonymous
}

AwsChunkedDecoder::AwsChunkedDecoder(const VerifiedRequest& v, size_t max_chunk)
    : v_(v), max_chunk_(max_chunk), prev_sig_(v.seed_signature) {}

Status AwsChunkedDecoder::Feed(std::string_view data,
                               const std::function<Status(std::string_view)>& out) {
  if (!error_.ok()) return error_;
  if (done_) {
    if (!data.empty()) error_ = Status::InvalidArgument("data after the final chunk");
    return error_;
  }
  buf_.append(data);
  bool progressed = true;
  while (progressed && !done_ && error_.ok()) error_ = Step(out, &progressed);
  return error_;
}

Status AwsChunkedDecoder::Step(const std::function<Status(std::string_view)>& out,
                               bool* progressed) {
  *progressed = false;
  size_t eol = buf_.find("\r\n");
  if (eol == std::string::npos) {
    if (buf_.size() > 4096) return Status::InvalidArgument("aws-chunked header line too long");
    return Status::OK();
  }
  std::string_view line(buf_.data(), eol);
  size_t semi = line.find(';');
  const std::string_view tag = ";chunk-signature=";
  if (semi == std::string_view::npos || line.substr(semi, tag.size()) != tag || semi == 0 ||
      semi > 16) {
    return Status::InvalidArgument("malformed aws-chunked header");
  }
  uint64_t size = 0;
  for (char c : line.substr(0, semi)) {
    int d = (c >= '0' && c <= '9') ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return Status::InvalidArgument("malformed aws-chunked size");
    size = size * 16 + static_cast<uint64_t>(d);
  }
  if (size > max_chunk_) return Status::InvalidArgument("aws-chunked chunk too large");
  std::string sig(line.substr(semi + tag.size()));
  const size_t need = eol + 2 + size + 2;
  if (buf_.size() < need) return Status::OK();
  std::string_view chunk(buf_.data() + eol + 2, size);
  if (buf_.compare(eol + 2 + size, 2, "\r\n") != 0) {
    return Status::InvalidArgument("aws-chunked chunk not terminated");
  }
  std::string expected =
      object::s3::ChunkSignature(v_.signing_key, v_.amz_date, v_.region, prev_sig_, chunk);
  if (!SameSignature(expected, sig)) {
    return Status::PermissionDenied("chunk signature does not match");
  }
  prev_sig_ = std::move(sig);
  if (size == 0) {
    done_ = true;
  } else {
    RETURN_IF_ERROR(out(chunk));
    decoded_ += size;
  }
  buf_.erase(0, need);
  *progressed = true;
  return Status::OK();
}

Status AwsChunkedDecoder::Finish() const {
  if (!error_.ok()) return error_;
  if (!done_) return Status::InvalidArgument("aws-chunked body ended before its final chunk");
  return Status::OK();
}

}  // namespace strata::gateway
