// How an S3 storage URL and StoreOptions become an endpoint, a bucket, a region and
// credentials. No network: everything here is decided from the URL, the options, the
// environment (through an injectable lookup) and an optional credentials file.
//
// URL forms (DESIGN.md §3):
//   s3://bucket[/prefix]               AWS: https://bucket.s3.REGION.amazonaws.com
//                                      (path style https://s3.REGION.amazonaws.com/bucket when
//                                      the bucket name holds a '.', which TLS wildcards miss)
//   http(s)://host[:port]/bucket[/prefix]
//                                      any S3-compatible service (MinIO, Ceph RGW, R2 at
//                                      https://ACCOUNT.r2.cloudflarestorage.com/bucket with
//                                      region "auto", GCS at https://storage.googleapis.com/bucket
//                                      with HMAC keys), path style by default
// Query options (all optional):
//   region=NAME            signing region (else StoreOptions::region, AWS_REGION,
//                          AWS_DEFAULT_REGION, then "us-east-1")
//   virtual-hosted=true|false   bucket in the host name instead of the path
//   unsigned-payload=true|false send x-amz-content-sha256: UNSIGNED-PAYLOAD instead of hashing
//                          bodies (only sensible over https; default false: every body hashed)
// A prefix after the bucket is prepended to every key ("s3://b/vol1" stores "vol1/KEY").
//
// Credentials, first found wins: StoreOptions access/secret key (+ session token);
// StoreOptions::credentials_file ("ACCESS:SECRET" or an AWS ini file, profile from AWS_PROFILE
// or "default"); AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
// AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials. None: kInvalidArgument saying how to pass
// them. Secrets never appear in Describe() or in error messages.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/uri.h"
#include "object/registry.h"
#include "object/s3/sigv4.h"

namespace strata::object::s3 {

struct S3Endpoint {
  std::string scheme = "https";  // "http" or "https"
  std::string host;              // host name or address, without the bucket
  int port = 0;                  // 0: the scheme's default
  std::string bucket;
  std::string prefix;            // "" or ends with '/'
  bool virtual_hosted = false;
  std::string region = "us-east-1";
  bool unsigned_payload = false;
  std::string url_scheme = "s3";  // the scheme of the URL given by the user, for Describe()

  // The Host header: "[bucket.]host[:port]" (port only when not the default).
  std::string HostHeader() const;
  // "scheme://" + HostHeader().
  std::string BaseUrl() const;
  // The raw (unencoded) request path for an object key (already prefixed), or for the bucket
  // itself when key is empty: "/bucket/key" or "/key" (virtual-hosted), "/bucket" or "/".
  std::string PathFor(std::string_view key) const;
  // "s3://bucket/prefix (https://bucket.s3.us-east-1.amazonaws.com)"; no secrets.
  std::string Describe() const;
};

struct S3Config {
  S3Endpoint endpoint;
  Credentials creds;
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 60000;
  int max_connections = 64;
  // Put of more than this many bytes goes through multipart upload in parts of part_size.
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
};

// Returns the value of an environment variable, or nullopt. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
// The process environment.
std::optional<std::string> ProcessEnv(const char* name);

// kInvalidArgument naming the problem for a URL this backend cannot use.
Result<S3Config> ParseS3Config(const Uri& uri, const StoreOptions& opts, const EnvLookup& env);

// See the header comment for the order. `what` (e.g. "s3://bucket") goes into the error.
Result<Credentials> ResolveCredentials(const StoreOptions& opts, const EnvLookup& env,
                                       std::string_view what);

}  // namespace strata::object::s3
