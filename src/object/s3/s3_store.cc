#include "object/s3/s3_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "object/key_listing.h"
#include "object/s3/s3_errors.h"
#include "object/s3/s3_xml.h"
#include "object/s3/sigv4.h"

namespace strata::object::s3 {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Continuation tokens we make ourselves start with this; the server's never do.
constexpr std::string_view kMarkerToken = "strata-after:";

std::string StripPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0 ? s.substr(prefix.size()) : s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> MetadataHeaders(
    const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, value] : metadata) {
    std::string n = "x-amz-meta-";
    for (char c : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    out.emplace_back(std::move(n), value);
  }
  return out;
}

Result<std::unique_ptr<S3Store>> S3Store::Open(const Uri& uri, const StoreOptions& opts) {
  ASSIGN_OR_RETURN(S3Config cfg, ParseS3Config(uri, opts, ProcessEnv));
  return Open(std::move(cfg));
}

Result<std::unique_ptr<S3Store>> S3Store::Open(S3Config config) {
  HttpClientOptions hopts;
  hopts.connect_timeout_ms = config.connect_timeout_ms;
  hopts.request_timeout_ms = config.request_timeout_ms;
  hopts.max_connections = config.max_connections;
  // The standard AWS variable for a private CA bundle (MinIO with its own certificate).
  if (auto ca = ProcessEnv("AWS_CA_BUNDLE")) hopts.ca_file = *ca;
  if (config.part_size < (5u << 20)) {
    return Status::InvalidArgument("S3 multipart part size must be at least 5 MiB");
  }
  ASSIGN_OR_RETURN(auto http, HttpClient::Open(hopts));
  return std::unique_ptr<S3Store>(new S3Store(std::move(config), std::move(http)));
}

std::string S3Store::Describe() const { return config_.endpoint.Describe(); }

Result<HttpResponse> S3Store::Send(const std::string& method, const std::string& full_key,
                                   const Pairs& query, const Pairs& headers,
                                   std::string_view body) {
  if (body.empty()) return SendParts(method, full_key, query, headers, {});
  return SendParts(method, full_key, query, headers, {body});
}

Result<HttpResponse> S3Store::SendParts(const std::string& method, const std::string& full_key,
                                        const Pairs& query, const Pairs& headers,
                                        const std::vector<std::string_view>& body) {
  const S3Endpoint& ep = config_.endpoint;
  SigningRequest sreq;
  sreq.method = method;
  sreq.host = ep.HostHeader();
  sreq.path = ep.PathFor(full_key);
  sreq.query = query;
  sreq.headers = headers;
  // Hashed here, on the caller's thread: the upload pool's, so blocks hash in parallel.
  sreq.payload_hash = ep.unsigned_payload ? std::string(kUnsignedPayload) : Sha256Hex(body);
  Pairs auth = SignRequest(sreq, config_.creds, ep.region, NowSeconds());

  HttpRequest req;
  req.method = method;
  req.url = ep.BaseUrl() + EncodePath(sreq.path);
  if (!query.empty()) req.url += "?" + CanonicalQuery(query);
  req.headers = headers;
  req.headers.insert(req.headers.end(), auth.begin(), auth.end());
  if (body.size() == 1) {
    req.body = body[0];
  } else {
    req.body_parts = body;
  }
  Result<HttpResponse> resp = http_->Perform(req);
  if (!resp.ok()) return resp.status().WithContext(Describe());
  return resp;
}

Result<HttpResponse> S3Store::Call(const char* op, const std::string& key,
                                   const std::string& method, const Pairs& query,
                                   const Pairs& headers, std::string_view body) {
  ASSIGN_OR_RETURN(HttpResponse resp, Send(method, FullKey(key), query, headers, body));
  if (!IsSuccess(resp)) return ErrorFromResponse(resp, op, key, config_.endpoint);
  return resp;
}

Result<std::string> S3Store::Get(const std::string& key, uint64_t off, int64_t len) {
  RETURN_IF_ERROR(CheckKey(key));
  if (len == 0) {
    // Nothing to read, but a missing key must still be reported.
    ASSIGN_OR_RETURN(ObjectInfo info, Head(key));
    (void)info;
    return std::string();
  }
  Pairs headers;
  bool ranged = off > 0 || len > 0;
  if (ranged) {
    std::string range = "bytes=" + std::to_string(off) + "-";
    if (len > 0) range += std::to_string(off + static_cast<uint64_t>(len) - 1);
    headers.emplace_back("Range", range);
  }
  Result<HttpResponse> sent = Send("GET", FullKey(key), {}, headers, "");
  if (!sent.ok() && ranged && sent.code() == Code::kUnavailable) {
    // s3rver answers a range of an empty object with "206, Content-Length: 1" and no body,
    // which curl rightly reports as a truncated transfer. When the range starts at or past
    // the end, the answer is "" whatever the server did; otherwise the error stands.
    Result<ObjectInfo> info = Head(key);
    if (info.ok() && info->size <= off) return std::string();
    return sent.status();
  }
  ASSIGN_OR_RETURN(HttpResponse resp, std::move(sent));
  // A range starting at or past the end (including any range of an empty object): 416.
  if (resp.status == 416) return std::string();
  if (resp.status < 200 || resp.status >= 300) {
    return ErrorFromResponse(resp, "GET", key, config_.endpoint);
  }
  if (ranged && resp.status == 206) {
    // Trust Content-Range ("bytes FIRST-LAST/TOTAL") over our request: s3rver reads
    // "bytes=0-0" as "bytes=0-". Bytes from the right start are right; keep what was asked.
    std::string cr = resp.Header("content-range");
    unsigned long long first = 0;
    if (std::sscanf(cr.c_str(), "bytes %llu-", &first) == 1 && first != off) {
      return Status::IOError("GET " + key + " on " + Describe() + ": asked for bytes from " +
                             std::to_string(off) + ", got Content-Range " + cr);
    }
    if (len > 0 && resp.body.size() > static_cast<uint64_t>(len)) resp.body.resize(len);
  }
  if (ranged && resp.status == 200) {
    // The server ignored the Range header: cut the range out ourselves.
    if (off >= resp.body.size()) return std::string();
    return resp.body.substr(off, len < 0 ? std::string::npos : static_cast<size_t>(len));
  }
  return std::move(resp.body);
}

Status S3Store::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  RETURN_IF_ERROR(CheckKey(key));
  if (data.size() > config_.multipart_threshold) return PutMultipart(key, data, opts);
  Pairs headers = {{"Content-Type", "application/octet-stream"}};
  Pairs meta = MetadataHeaders(opts.metadata);
  headers.insert(headers.end(), meta.begin(), meta.end());
  return Call("PUT", key, "PUT", {}, headers, data).status();
}

Status S3Store::PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                         const PutOptions& opts) {
  RETURN_IF_ERROR(CheckKey(key));
  size_t total = 0;
  for (std::string_view p : parts) total += p.size();
  if (total > config_.multipart_threshold) return ObjectStore::PutParts(key, parts, opts);
  Pairs headers = {{"Content-Type", "application/octet-stream"}};
  Pairs meta = MetadataHeaders(opts.metadata);
  headers.insert(headers.end(), meta.begin(), meta.end());
  std::vector<std::string_view> body;
  for (std::string_view p : parts) {
    if (!p.empty()) body.push_back(p);
  }
  ASSIGN_OR_RETURN(HttpResponse resp, SendParts("PUT", FullKey(key), {}, headers, body));
  if (!IsSuccess(resp)) return ErrorFromResponse(resp, "PUT", key, config_.endpoint);
  return Status::OK();
}

Result<ObjectInfo> S3Store::Head(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  ASSIGN_OR_RETURN(HttpResponse resp, Call("HEAD", key, "HEAD", {}, {}, ""));
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(resp.Header("content-length").c_str(), nullptr, 10);
  info.etag = UnquoteEtag(resp.Header("etag"));
  info.mtime_ns = ParseHttpDate(resp.Header("last-modified"));
  return info;
}

Status S3Store::Delete(const std::string& key) {
  RETURN_IF_ERROR(CheckKey(key));
  ASSIGN_OR_RETURN(HttpResponse resp, Send("DELETE", FullKey(key), {}, {}, ""));
  if (IsSuccess(resp)) return Status::OK();
  Status st = ErrorFromResponse(resp, "DELETE", key, config_.endpoint);
  // S3 answers 204 for a missing key; some servers say NoSuchKey. Both mean "gone".
  if (st.Is(Code::kNotFound) && st.message().find("no such key") == 0) return Status::OK();
  return st;
}

Result<ListResult> S3Store::List(const ListOptions& opts) {
  if (opts.limit < 1) {
    return Status::InvalidArgument("list limit must be at least 1, got " +
                                   std::to_string(opts.limit));
  }
  const size_t limit = static_cast<size_t>(std::min(opts.limit, 1000));
  const std::string& base = config_.endpoint.prefix;
  // Our own continuation (see ClipPage): everything up to and including `marker` was returned.
  std::string marker;
  if (opts.continuation.rfind(kMarkerToken, 0) == 0) {
    marker = opts.continuation.substr(kMarkerToken.size());
  }
  Pairs query = {{"list-type", "2"}, {"max-keys", std::to_string(limit)}};
  if (!base.empty() || !opts.prefix.empty()) query.emplace_back("prefix", base + opts.prefix);
  if (!opts.delimiter.empty()) query.emplace_back("delimiter", opts.delimiter);
  if (!marker.empty()) {
    query.emplace_back("start-after", marker);
  } else {
    if (!opts.start_after.empty()) query.emplace_back("start-after", base + opts.start_after);
    if (!opts.continuation.empty()) query.emplace_back("continuation-token", opts.continuation);
  }
  ASSIGN_OR_RETURN(HttpResponse resp, Send("GET", "", query, {}, ""));
  if (!IsSuccess(resp)) return ErrorFromResponse(resp, "LIST", opts.prefix, config_.endpoint);
  ASSIGN_OR_RETURN(ListResult page, ParseListObjectsV2(resp.body));
  ClipPage(page, marker, limit);
  if (!base.empty()) {
    for (ObjectInfo& o : page.objects) o.key = StripPrefix(o.key, base);
    for (std::string& p : page.common_prefixes) p = StripPrefix(p, base);
  }
  return page;
}

void ClipPage(ListResult& page, const std::string& marker, size_t limit) {
  // Keys under a common prefix already returned roll up into it again: drop what the marker
  // says was returned.
  if (!marker.empty()) {
    std::erase_if(page.objects, [&](const ObjectInfo& o) { return o.key <= marker; });
    std::erase_if(page.common_prefixes, [&](const std::string& p) { return p <= marker; });
  }
  if (page.objects.size() + page.common_prefixes.size() <= limit) return;
  // The server ignored max-keys (s3rver does when a delimiter is set): keep the first `limit`
  // entries in key order and continue after the last one with start-after.
  std::sort(page.objects.begin(), page.objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  std::sort(page.common_prefixes.begin(), page.common_prefixes.end());
  size_t o = 0, p = 0;
  std::string last;
  while (o + p < limit) {
    bool take_object = p == page.common_prefixes.size() ||
                       (o < page.objects.size() && page.objects[o].key < page.common_prefixes[p]);
    last = take_object ? page.objects[o++].key : page.common_prefixes[p++];
  }
  page.objects.resize(o);
  page.common_prefixes.resize(p);
  page.truncated = true;
  page.next_continuation = std::string(kMarkerToken) + last;
}

Result<std::string> S3Store::PresignGet(const std::string& key, int64_t expires_seconds) const {
  RETURN_IF_ERROR(CheckKey(key));
  if (expires_seconds < 1 || expires_seconds > 604800) {
    return Status::InvalidArgument("presigned URL expiry must be 1..604800 seconds");
  }
  const S3Endpoint& ep = config_.endpoint;
  SigningRequest sreq;
  sreq.method = "GET";
  sreq.host = ep.HostHeader();
  sreq.path = ep.PathFor(FullKey(key));
  std::string q = Presign(sreq, config_.creds, ep.region, NowSeconds(), expires_seconds);
  return ep.BaseUrl() + EncodePath(sreq.path) + "?" + q;
}

}  // namespace strata::object::s3
