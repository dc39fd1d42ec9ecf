// Signature verification against our own signer (object/s3/sigv4.h, itself checked against
// botocore in sigv4_test.cc): what one signs the other accepts, and any change to the
// request, the secret or the time is refused. Real clients are in tests/gateway.
#include "gateway/sigv4_verify.h"

#include <gtest/gtest.h>

#include "object/s3/sigv4.h"

namespace strata::gateway {
namespace {

namespace s3 = object::s3;
constexpr int64_t kNow = 1764590400;  // 2025-12-01T12:00:00Z

SecretLookup Secrets() {
  return [](const std::string& k) -> std::optional<std::string> {
    if (k == "AKID") return std::string("secret/key+value");
    return std::nullopt;
  };
}

HttpRequest Signed(const std::string& method, const std::string& path, const Pairs& query,
                   const std::string& payload_hash, int64_t when = kNow,
                   const std::string& secret = "secret/key+value") {
  s3::SigningRequest sr;
  sr.method = method;
  sr.host = "127.0.0.1:9000";
  sr.path = path;
  sr.query = query;
  sr.payload_hash = payload_hash;
  sr.headers = {{"range", "bytes=0-9"}};
  auto added = s3::SignRequest(sr, {"AKID", secret, ""}, "us-east-1", when);
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.query = query;
  r.headers = {{"host", "127.0.0.1:9000"}, {"range", "bytes=0-9"}};
  for (auto& h : added) r.headers.push_back(h);
  return r;
}

TEST(SigV4Verify, HeaderFormAcceptsOurSigner) {
  HttpRequest r = Signed("GET", "/bucket/a key+/ü.txt", {{"list-type", "2"}, {"prefix", "a b"}},
                         std::string(s3::kUnsignedPayload));
  auto v = VerifySignature(r, Secrets(), kNow);
  ASSERT_TRUE(std::holds_alternative<VerifiedRequest>(v)) << std::get<S3Error>(v).message;
  EXPECT_EQ(std::get<VerifiedRequest>(v).access_key, "AKID");
  EXPECT_FALSE(std::get<VerifiedRequest>(v).anonymous);
}

TEST(SigV4Verify, RefusesChangesSecretsAndTime) {
  const std::string h = std::string(s3::kEmptySha256);
  HttpRequest r = Signed("PUT", "/bucket/key", {}, h);
  r.path = "/bucket/other";
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, Secrets(), kNow)).code, "SignatureDoesNotMatch");
  r = Signed("PUT", "/bucket/key", {}, h);
  r.headers[1].second = "bytes=0-99";  // a signed header changed
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, Secrets(), kNow)).code, "SignatureDoesNotMatch");
  r = Signed("PUT", "/bucket/key", {}, h, kNow, "wrong");
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, Secrets(), kNow)).code, "SignatureDoesNotMatch");
  r = Signed("PUT", "/bucket/key", {}, h, kNow - 16 * 60);
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, Secrets(), kNow)).code, "RequestTimeTooSkewed");
  r = Signed("PUT", "/bucket/key", {}, h, kNow + 14 * 60);
  EXPECT_TRUE(std::holds_alternative<VerifiedRequest>(VerifySignature(r, Secrets(), kNow)));
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  r = Signed("PUT", "/bucket/key", {}, h);
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, none, kNow)).code, "InvalidAccessKeyId");
}

TEST(SigV4Verify, PresignedExpiryAndTampering) {
  s3::SigningRequest sr;
  sr.method = "GET";
  sr.host = "h:1";
  sr.path = "/b/k";
  std::string q = s3::Presign(sr, {"AKID", "secret/key+value", ""}, "us-east-1", kNow, 600);
  auto make = [&](const std::string& query) {
    HttpRequest r;
    r.method = "GET";
    r.path = "/b/k";
    r.raw_query = query;
    r.query = SplitQuery(query);
    r.headers = {{"host", "h:1"}};
    return r;
  };
  EXPECT_TRUE(std::holds_alternative<VerifiedRequest>(VerifySignature(make(q), Secrets(), kNow)));
  EXPECT_TRUE(
      std::holds_alternative<VerifiedRequest>(VerifySignature(make(q), Secrets(), kNow + 600)));
  EXPECT_EQ(std::get<S3Error>(VerifySignature(make(q), Secrets(), kNow + 601)).code,
            "AccessDenied");
  HttpRequest other = make(q);
  other.path = "/b/k2";
  EXPECT_EQ(std::get<S3Error>(VerifySignature(other, Secrets(), kNow)).code,
            "SignatureDoesNotMatch");
  std::string week = s3::Presign(sr, {"AKID", "secret/key+value", ""}, "us-east-1", kNow,
                                 7 * 24 * 3600 + 1);
  EXPECT_EQ(std::get<S3Error>(VerifySignature(make(week), Secrets(), kNow)).code, "AccessDenied");
}

TEST(SigV4Verify, AnonymousAndSigV2) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/b/k";
  auto v = VerifySignature(r, Secrets(), kNow);
  ASSERT_TRUE(std::holds_alternative<VerifiedRequest>(v));
  EXPECT_TRUE(std::get<VerifiedRequest>(v).anonymous);
  r.headers = {{"authorization", "AWS AKID:abc"}};
  EXPECT_EQ(std::get<S3Error>(VerifySignature(r, Secrets(), kNow)).http, 400);
}

std::string Encode(const VerifiedRequest& v, const std::vector<std::string>& chunks,
                   int tamper = -1) {
  std::string prev = v.seed_signature, out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::string sig = s3::ChunkSignature(v.signing_key, v.amz_date, v.region, prev, chunks[i]);
    prev = sig;
    char size[32];
    std::snprintf(size, sizeof(size), "%zx", chunks[i].size());
    std::string data = chunks[i];
    if (static_cast<int>(i) == tamper) data[0] ^= 1;
    out += std::string(size) + ";chunk-signature=" + sig + "\r\n" + data + "\r\n";
  }
  return out;
}

TEST(AwsChunkedDecoder, VerifiesEachChunkInAnySplit) {
  VerifiedRequest v;
  v.signing_key = s3::SigningKey("secret", "20251201T120000Z", "us-east-1");
  v.amz_date = "20251201T120000Z";
  v.region = "us-east-1";
  v.seed_signature = std::string(64, 'a');
  const std::vector<std::string> chunks = {std::string(70000, 'x'), std::string(12, 'y'), ""};
  const std::string body = Encode(v, chunks);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, body.size()}) {
    AwsChunkedDecoder d(v);
    std::string out;
    for (size_t off = 0; off < body.size(); off += piece) {
      ASSERT_TRUE(d.Feed(std::string_view(body).substr(off, piece), [&](std::string_view s) {
                     out.append(s);
                     return Status::OK();
                   }).ok());
    }
    EXPECT_TRUE(d.Finish().ok());
    EXPECT_EQ(out, chunks[0] + chunks[1]);
  }
  AwsChunkedDecoder bad(v);
  std::string out;
  Status s = bad.Feed(Encode(v, chunks, 1), [&](std::string_view p) {
    out.append(p);
    return Status::OK();
  });
  EXPECT_TRUE(s.Is(Code::kPermissionDenied));
  EXPECT_EQ(out, chunks[0]);  // nothing of the bad chunk was passed on
  AwsChunkedDecoder cut(v);
  ASSERT_TRUE(cut.Feed(body.substr(0, body.size() - 90), [](std::string_view) {
                   return Status::OK();
                 }).ok());
  EXPECT_FALSE(cut.Finish().ok());
}

}  // namespace
}  // namespace strata::gateway
