// GetObject and HeadObject: ranges (one range; S3 answers multi-range with the whole object,
// so do we), conditional requests (RFC 7232 order: If-Match, If-Unmodified-Since,
// If-None-Match, If-Modified-Since) and response-* overrides (presigned downloads use them).
// The body streams from the volume 1 MiB at a time through one read handle (its readahead).
#include <memory>

#include "gateway/ops.h"
#include "gateway/xml.h"

namespace strata::gateway {
namespace {

// A list of ETags ("a", "b", W/"c") contains this one, or is "*".
bool EtagListMatches(const std::string& list, const std::string& etag) {
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(pos, comma - pos);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.rfind("W/", 0) == 0) item = item.substr(2);
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    if (item == "*" || item == etag) return true;
    pos = comma + 1;
  }
  return false;
}

struct Range {
  uint64_t first = 0, last = 0;  // inclusive
};

// nullopt: no (usable) range, serve everything; first > last after the call: unsatisfiable.
std::optional<Range> ParseRange(const std::string& h, uint64_t length, bool* unsatisfiable) {
  *unsatisfiable = false;
  if (h.rfind("bytes=", 0) != 0) return std::nullopt;
  std::string spec = h.substr(6);
  if (spec.find(',') != std::string::npos) return std::nullopt;
  size_t dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  auto num = [](const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  };
  Range r;
  if (a.empty()) {  // suffix: the last b bytes
    uint64_t n;
    if (!num(b, &n)) return std::nullopt;
    if (n == 0 || length == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    r.first = n >= length ? 0 : length - n;
    r.last = length - 1;
    return r;
  }
  if (!num(a, &r.first)) return std::nullopt;
  if (b.empty()) {
    r.last = length == 0 ? 0 : length - 1;
  } else if (!num(b, &r.last) || r.last < r.first) {
    return std::nullopt;
  }
  if (r.first >= length) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  if (r.last >= length) r.last = length - 1;
  return r;
}

}  // namespace

OpResult GetObject(S3Request& r, bool head) {
  auto b = ResolveBucket(r);
  if (auto* e = std::get_if<S3Error>(&b)) return *e;
  auto parsed = ParseKey(r.key);
  if (auto* e = std::get_if<S3Error>(&parsed)) return *e;
  auto obj = r.fs->LookupObject(std::get<Ino>(b), std::get<KeyPath>(parsed));
  if (!obj.ok()) return FromStatus(obj.status(), r.key);
  const Attr& a = obj->attr;
  auto etag = r.fs->Etag(obj->ino, a);
  if (!etag.ok()) return FromStatus(etag.status(), r.key);
  auto meta = r.fs->ReadMeta(obj->ino);
  if (!meta.ok()) return FromStatus(meta.status(), r.key);

  HttpResponse& res = *r.res;
  const std::string quoted = "\"" + *etag + "\"";
  res.Header("ETag", quoted);
  res.Header("Last-Modified", HttpDate(a.mtime.sec));
  res.Header("Accept-Ranges", "bytes");
  const HttpRequest& q = *r.http;
  // Conditions, in the order RFC 7232 §6 evaluates them.
  if (q.HasHeader("if-match")) {
    if (!EtagListMatches(q.Header("if-match"), *etag)) {
      return S3Error{412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"};
    }
  } else if (q.HasHeader("if-unmodified-since")) {
    int64_t t = ParseHttpDate(q.Header("if-unmodified-since"));
    if (t >= 0 && a.mtime.sec > t) {
      return S3Error{412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"};
    }
  }
  bool not_modified = false;
  if (q.HasHeader("if-none-match")) {
    not_modified = EtagListMatches(q.Header("if-none-match"), *etag);
  } else if (q.HasHeader("if-modified-since")) {
    int64_t t = ParseHttpDate(q.Header("if-modified-since"));
    not_modified = t >= 0 && a.mtime.sec <= t;
  }
  if (not_modified) {
    res.status = 304;
    res.body.clear();
    return std::nullopt;
  }

  SetMetaHeaders(res, *meta);
  // response-* overrides (signed requests only, as S3 allows).
  static const std::pair<const char*, const char*> kOverrides[] = {
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"}};
  if (!r.auth.anonymous) {
    if (q.HasQuery("response-content-type")) res.content_type = q.Query("response-content-type");
    for (const auto& [param, header] : kOverrides) {
      if (q.HasQuery(param)) res.Header(header, q.Query(param));
    }
  }

  uint64_t first = 0, count = a.length;
  bool unsatisfiable = false;
  if (q.HasHeader("range")) {
    auto range = ParseRange(q.Header("range"), a.length, &unsatisfiable);
    if (unsatisfiable) {
      res.Header("Content-Range", "bytes */" + std::to_string(a.length));
      return S3Error{416, "InvalidRange", "The requested range is not satisfiable"};
    }
    if (range) {
      first = range->first;
      count = range->last - range->first + 1;
      res.status = 206;
      res.Header("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                      std::to_string(range->last) + "/" +
                                      std::to_string(a.length));
    }
  }
  if (res.status != 206) res.status = 200;
  res.body.clear();
  if (count == 0) return std::nullopt;
  res.stream_length = count;
  if (head) {
    res.produce = [](uint64_t, size_t, std::string*) { return false; };  // never called
    return std::nullopt;
  }
  auto fh = r.fs->OpenRead(obj->ino);
  if (!fh.ok()) return FromStatus(fh.status(), r.key);
  ObjectFs* fs = r.fs;
  const Ino ino = obj->ino;
  const uint64_t handle = *fh;
  res.produce = [fs, ino, handle, first](uint64_t off, size_t max, std::string* out) {
    return fs->Read(ino, handle, first + off, max, out).ok();
  };
  res.release = [fs, ino, handle] { fs->Release(ino, handle); };
  return std::nullopt;
}

}  // namespace strata::gateway
