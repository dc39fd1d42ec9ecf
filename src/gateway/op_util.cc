// Helpers shared by the operation files (ops.h "Shared").
#include <algorithm>

#include "gateway/digest.h"
#include "gateway/ops.h"

namespace strata::gateway {

std::variant<Ino, S3Error> ResolveBucket(S3Request& r) {
  if (auto e = CheckBucketName(r.bucket)) return *e;
  auto b = r.fs->Bucket(r.bucket);
  if (b.ok()) return *b;
  if (b.status().Is(Code::kNotFound) || b.status().Is(Code::kNotDir)) {
    return NoSuchBucket(r.bucket);
  }
  return FromStatus(b.status());
}

OpResult StreamBody(S3Request& r, const std::function<Status(std::string_view)>& sink) {
  Status sink_error;
  bool ok = true;
  if (r.auth.payload == PayloadMode::kStreaming) {
    AwsChunkedDecoder dec(r.auth);
    Status dec_error;
    ok = r.http->read_body([&](std::string_view piece) {
      dec_error = dec.Feed(piece, [&](std::string_view data) {
        sink_error = sink(data);
        return sink_error;
      });
      return dec_error.ok();
    });
    if (!sink_error.ok()) return FromStatus(sink_error, r.key);
    if (!dec_error.ok() || (ok && !dec.Finish().ok())) {
      Status s = dec_error.ok() ? dec.Finish() : dec_error;
      if (s.Is(Code::kPermissionDenied)) return SignatureDoesNotMatch(std::string(s.message()));
      return S3Error{400, "IncompleteBody", std::string(s.message())};
    }
    std::string decoded = r.http->Header("x-amz-decoded-content-length");
    if (!decoded.empty() && decoded != std::to_string(dec.decoded_bytes())) {
      return S3Error{400, "IncompleteBody", "decoded length differs from x-amz-decoded-content-length"};
    }
  } else {
    std::optional<Digest> sha;
    if (r.auth.payload == PayloadMode::kHashed) sha.emplace(Digest::Sha256());
    ok = r.http->read_body([&](std::string_view piece) {
      if (sha) sha->Update(piece);
      sink_error = sink(piece);
      return sink_error.ok();
    });
    if (!sink_error.ok()) return FromStatus(sink_error, r.key);
    if (ok && sha && Hex(sha->Final()) != r.auth.payload_sha256) {
      return S3Error{400, "XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was computed."};
    }
  }
  if (!ok) return S3Error{400, "IncompleteBody", "the request body was cut short"};
  return std::nullopt;
}

std::variant<std::string, S3Error> ReadSmallBody(S3Request& r, size_t max) {
  std::string body;
  OpResult e = StreamBody(r, [&](std::string_view piece) {
    if (body.size() + piece.size() > max) return Status::InvalidArgument("request body too large");
    body.append(piece);
    return Status::OK();
  });
  if (e) return *e;
  return body;
}

OpResult CheckContentMd5(S3Request& r, const std::string& md5) {
  std::string sent = r.http->Header("content-md5");
  if (sent.empty()) return std::nullopt;
  std::string want = Unbase64(sent);
  if (want.size() != 16) return S3Error{400, "InvalidDigest", "The Content-MD5 you specified is not valid."};
  if (want != md5) {
    return S3Error{400, "BadDigest", "The Content-MD5 you specified did not match what we received."};
  }
  return std::nullopt;
}

ObjectMeta MetaFromRequest(const HttpRequest& req) {
  ObjectMeta m;
  m.content_type = req.Header("content-type");
  for (const std::string& h : StoredHeaders()) {
    std::string v = req.Header(h);
    if (!v.empty()) m.headers.emplace_back(h, v);
  }
  for (const auto& [n, v] : req.headers) {
    if (n.rfind("x-amz-meta-", 0) == 0 && n.size() > 11) m.user.emplace_back(n.substr(11), v);
  }
  return m;
}

void SetMetaHeaders(HttpResponse& res, const ObjectMeta& m) {
  res.content_type = m.content_type.empty() ? "binary/octet-stream" : m.content_type;
  for (const auto& [n, v] : m.headers) res.Header(n, v);
  for (const auto& [n, v] : m.user) res.Header("x-amz-meta-" + n, v);
}

std::variant<std::pair<std::string, std::string>, S3Error> ParseCopySource(const std::string& v) {
  std::string s = v;
  size_t q = s.find('?');
  if (q != std::string::npos) {
    if (s.find("versionId=", q) != std::string::npos && s.find("versionId=null", q) == std::string::npos) {
      return NotImplemented("copying an object version");
    }
    s = s.substr(0, q);
  }
  s = PercentDecode(s);
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) {
    return InvalidArgument("x-amz-copy-source must be BUCKET/KEY");
  }
  return std::make_pair(s.substr(0, slash), s.substr(slash + 1));
}

}  // namespace strata::gateway
