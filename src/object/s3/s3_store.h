// S3Store: the s3://, http:// and https:// backends — any service that speaks the S3 REST API
// (AWS S3, Cloudflare R2, GCS's XML API with HMAC keys, MinIO, Ceph RGW, s3rver), over libcurl
// with AWS Signature V4. URL forms, options and credential lookup: s3_config.h.
//
// Requests follow the S3 REST spec to the letter, because each service is strict about a
// different part: every request carries Host and x-amz-content-sha256 (the SHA-256 of the body,
// or UNSIGNED-PAYLOAD when asked) and x-amz-date, all signed; keys are percent-encoded per
// segment with '/' kept; listings use ListObjectsV2; user metadata travels as x-amz-meta-*.
//
// Semantics are the ObjectStore contract: a Get past the end returns "" (S3's 416 on a range
// is read that way), Delete of a missing key succeeds, and a Put larger than
// S3Config::multipart_threshold (64 MiB) is sent as a multipart upload in part_size (16 MiB)
// parts, aborted if any part fails, so the object appears whole or not at all.
//
// Open() makes no network request: a missing bucket or a wrong key shows up on the first
// operation, with a clear Status (s3_errors.h). No retries here: the retry wrapper does that,
// and the Status says when a retry may help.
//
// Thread-safety: every method may be called from many threads at once (one connection per
// concurrent request, up to StoreOptions::max_connections).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/uri.h"
#include "object/object_store.h"
#include "object/registry.h"
#include "object/s3/http_client.h"
#include "object/s3/s3_config.h"

namespace strata::object::s3 {

class S3Store : public ObjectStore {
 public:
  // From a URL and options (credentials from the options, a file or the environment).
  static Result<std::unique_ptr<S3Store>> Open(const Uri& uri, const StoreOptions& opts);
  // From a ready configuration.
  static Result<std::unique_ptr<S3Store>> Open(S3Config config);

  std::string Describe() const override;
  // Same defaults as ObjectStore, so callers holding an S3Store can omit them too.
  Result<std::string> Get(const std::string& key, uint64_t off = 0, int64_t len = -1) override;
  Status Put(const std::string& key, std::string_view data,
             const PutOptions& opts = {}) override;
  // One PUT whose body is the parts back to back: hashed and sent piece by piece, with no
  // joined copy (a block's payload and trailer). Past multipart_threshold: joined, then Put.
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const PutOptions& opts = {}) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ListResult> List(const ListOptions& opts) override;
  Result<std::string> CreateMultipart(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override;

  // A presigned URL that lets anyone holding it GET `key` for `expires_seconds` (1..604800).
  Result<std::string> PresignGet(const std::string& key, int64_t expires_seconds) const;

  const S3Config& config() const { return config_; }

 private:
  using Pairs = std::vector<std::pair<std::string, std::string>>;

  S3Store(S3Config config, std::unique_ptr<HttpClient> http)
      : config_(std::move(config)), http_(std::move(http)) {}

  // Signs and sends one request for `full_key` ("" for the bucket itself).
  Result<HttpResponse> Send(const std::string& method, const std::string& full_key,
                            const Pairs& query, const Pairs& headers, std::string_view body);
  // The same with the body in pieces, sent back to back.
  Result<HttpResponse> SendParts(const std::string& method, const std::string& full_key,
                                 const Pairs& query, const Pairs& headers,
                                 const std::vector<std::string_view>& body);
  // Send, then map a non-success answer to a Status naming `op` and the user's key.
  Result<HttpResponse> Call(const char* op, const std::string& key, const std::string& method,
                            const Pairs& query, const Pairs& headers, std::string_view body);

  std::string FullKey(const std::string& key) const { return config_.endpoint.prefix + key; }
  Result<std::string> StartUpload(const std::string& key, const PutOptions& opts);
  Status PutMultipart(const std::string& key, std::string_view data, const PutOptions& opts);

  const S3Config config_;
  std::unique_ptr<HttpClient> http_;
};

// Makes a listing page honour `limit` even when the server returned more (s3rver ignores
// max-keys when a delimiter is set): drops entries <= marker (already returned), keeps the
// first `limit` in key order, and sets a continuation token that lists after the last one.
void ClipPage(ListResult& page, const std::string& marker, size_t limit);

// Headers for user metadata: {"x-amz-meta-NAME", value}, names lower-cased.
std::vector<std::pair<std::string, std::string>> MetadataHeaders(
    const std::map<std::string, std::string>& metadata);

}  // namespace strata::object::s3
