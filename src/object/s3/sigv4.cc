#include "object/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace strata::object::s3 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string ToHex(const unsigned char* p, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// SigV4 "Trimall": strip leading/trailing whitespace, collapse inner runs to one space.
std::string TrimAllImpl(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;   // "name:value\n" for each, sorted
  std::string signed_names;  // "a;b;c"
};

CanonicalHeaders BuildCanonicalHeaders(const SigningRequest& req,
                                       const std::vector<std::pair<std::string, std::string>>&
                                           added) {
  std::vector<std::pair<std::string, std::string>> all;
  bool has_host = false;
  auto add = [&](const std::string& name, const std::string& value) {
    std::string lname = Lower(name);
    if (lname == "host") has_host = true;
    all.emplace_back(std::move(lname), TrimAllImpl(value));
  };
  for (const auto& [n, v] : req.headers) add(n, v);
  for (const auto& [n, v] : added) add(n, v);
  if (!has_host) all.emplace_back("host", Lower(req.host));
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (size_t i = 0; i < all.size(); ++i) {
    // Repeated names are one line with the values joined by commas, in the order given.
    if (i > 0 && all[i].first == all[i - 1].first) {
      out.block.pop_back();  // the '\n'
      out.block += "," + all[i].second + "\n";
      continue;
    }
    if (!out.signed_names.empty()) out.signed_names += ';';
    out.signed_names += all[i].first;
    out.block += all[i].first + ":" + all[i].second + "\n";
  }
  return out;
}

std::string Scope(std::string_view date, std::string_view region) {
  return CredentialScope(date, region);
}

// Fills details from a canonical request; returns the signature.
void Finish(std::string canonical_request, const Credentials& creds, std::string_view region,
            const std::string& amz_date, SigningDetails* d) {
  d->canonical_request = std::move(canonical_request);
  d->string_to_sign = StringToSign(amz_date, region, d->canonical_request);
  d->signature = HmacSha256Hex(SigningKey(creds.secret_key, amz_date, region), d->string_to_sign);
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 15]);
    }
  }
  return out;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [n, v] : query) enc.emplace_back(UriEncode(n, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [n, v] : enc) {
    if (!out.empty()) out += '&';
    out += n;
    out += '=';
    out += v;
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return ToHex(md, sizeof(md));
}

std::string Sha256Hex(const std::vector<std::string_view>& parts) {
  // EVP: the one-shot SHA256() has no incremental form that is not deprecated in OpenSSL 3.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (std::string_view p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md, &len) == 1;
  if (!ok) {
    // Only an allocation failure gets here; hash the joined copy the plain way instead.
    std::string joined;
    for (std::string_view p : parts) joined.append(p);
    return Sha256Hex(joined);
  }
  return ToHex(md, len);
}

std::string AmzDate(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::vector<std::pair<std::string, std::string>> SignRequest(const SigningRequest& req,
                                                             const Credentials& creds,
                                                             std::string_view region,
                                                             int64_t unix_seconds,
                                                             SigningDetails* details) {
  const std::string amz_date = AmzDate(unix_seconds);
  std::vector<std::pair<std::string, std::string>> added = {
      {"x-amz-content-sha256", req.payload_hash},
      {"x-amz-date", amz_date},
  };
  if (!creds.session_token.empty()) added.emplace_back("x-amz-security-token", creds.session_token);

  CanonicalHeaders ch = BuildCanonicalHeaders(req, added);
  std::string cr = CanonicalRequest(req.method, req.path, CanonicalQuery(req.query), ch.block,
                                    ch.signed_names, req.payload_hash);
  SigningDetails local;
  SigningDetails* d = details ? details : &local;
  Finish(std::move(cr), creds, region, amz_date, d);
  d->signed_headers = ch.signed_names;

  added.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" +
                                          Scope(amz_date, region) +
                                          ", SignedHeaders=" + ch.signed_names +
                                          ", Signature=" + d->signature);
  return added;
}

std::string Presign(const SigningRequest& req, const Credentials& creds, std::string_view region,
                    int64_t unix_seconds, int64_t expires_seconds, SigningDetails* details) {
  const std::string amz_date = AmzDate(unix_seconds);
  CanonicalHeaders ch = BuildCanonicalHeaders(req, {});
  auto query = req.query;
  query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  query.emplace_back("X-Amz-Credential", creds.access_key + "/" + Scope(amz_date, region));
  query.emplace_back("X-Amz-Date", amz_date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  query.emplace_back("X-Amz-SignedHeaders", ch.signed_names);
  if (!creds.session_token.empty()) query.emplace_back("X-Amz-Security-Token", creds.session_token);
  std::string cq = CanonicalQuery(query);
  std::string cr = CanonicalRequest(req.method, req.path, cq, ch.block, ch.signed_names,
                                    kUnsignedPayload);
  SigningDetails local;
  SigningDetails* d = details ? details : &local;
  Finish(std::move(cr), creds, region, amz_date, d);
  d->signed_headers = ch.signed_names;
  return cq + "&X-Amz-Signature=" + d->signature;
}

std::string CredentialScope(std::string_view amz_date, std::string_view region) {
  std::string s(amz_date.substr(0, 8));
  s += '/';
  s += region;
  s += '/';
  s += kService;
  s += "/aws4_request";
  return s;
}

std::string TrimHeaderValue(std::string_view v) { return TrimAllImpl(v); }

std::string CanonicalRequest(std::string_view method, std::string_view raw_path,
                             std::string_view canonical_query,
                             std::string_view canonical_headers, std::string_view signed_names,
                             std::string_view payload_hash) {
  std::string cr(method);
  cr += '\n';
  cr += EncodePath(raw_path);
  cr += '\n';
  cr += canonical_query;
  cr += '\n';
  cr += canonical_headers;
  cr += '\n';
  cr += signed_names;
  cr += '\n';
  cr += payload_hash;
  return cr;
}

std::string StringToSign(std::string_view amz_date, std::string_view region,
                         std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + CredentialScope(amz_date, region) +
         "\n" + Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret_key, std::string_view amz_date,
                       std::string_view region) {
  std::string k = HmacSha256("AWS4" + std::string(secret_key), amz_date.substr(0, 8));
  k = HmacSha256(k, region);
  k = HmacSha256(k, kService);
  return HmacSha256(k, "aws4_request");
}

std::string HmacSha256Hex(std::string_view key, std::string_view msg) {
  std::string mac = HmacSha256(key, msg);
  return ToHex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::string ChunkSignature(std::string_view signing_key, std::string_view amz_date,
                           std::string_view region, std::string_view previous_signature,
                           std::string_view chunk_data) {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + std::string(amz_date) + "\n" +
                    CredentialScope(amz_date, region) + "\n" + std::string(previous_signature) +
                    "\n" + std::string(kEmptySha256) + "\n" + Sha256Hex(chunk_data);
  return HmacSha256Hex(signing_key, sts);
}

}  // namespace strata::object::s3
