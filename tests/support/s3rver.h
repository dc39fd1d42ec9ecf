// S3rver: a real S3-compatible server (npm s3rver@3, see /work/shared/TESTING.md) started for
// a test on a free 127.0.0.1 port with one bucket, and stopped by its PID.
//
//   auto server = S3rver::Start("my-bucket");
//   if (server.code() == Code::kNotSupported) GTEST_SKIP() << server.status().ToString();
//   ... s3 store on server->endpoint(), bucket server->bucket(),
//       keys server->access_key() / server->secret_key() ...
//
// It runs `node --openssl-legacy-provider $STRATA_SOURCE_DIR/tests/tools/node_modules/.bin/
// s3rver -d DIR -a 127.0.0.1 -p PORT --no-vhost-buckets -s --configure-bucket BUCKET`. The
// legacy provider is needed on Node 20 for paged listings. Known gaps of s3rver: no SigV4
// verification, no ListParts / ListMultipartUploads / AbortMultipartUpload.
//
// Thread-safety: one owner; the accessors are const and may be read from many threads.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "tests/support/process.h"

namespace strata::testing {

class S3rver {
 public:
  // Starts the server and waits until it accepts connections (up to ~10 s).
  // kNotSupported when node or s3rver is not installed (tests skip on it); kInvalidArgument
  // for a bucket name S3 would refuse; another error when it does not come up.
  static Result<std::unique_ptr<S3rver>> Start(const std::string& bucket = "strata-test");

  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  // "http://127.0.0.1:PORT" (path-style: the bucket is the first path segment).
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // endpoint() + "/" + bucket(): the storage URL of the bucket.
  std::string bucket_url() const { return endpoint() + "/" + bucket_; }
  const std::string& bucket() const { return bucket_; }
  int port() const { return port_; }
  int pid() const { return process_.pid(); }
  const std::string& data_dir() const { return data_dir_; }
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  std::string access_key() const { return kAccessKey; }
  std::string secret_key() const { return kSecretKey; }
  static constexpr const char* kRegion = "us-east-1";

  // Stops the server (SIGTERM, then SIGKILL) and removes its data. Safe to call twice.
  void Stop();

 private:
  S3rver() = default;

  Subprocess process_;
  std::string bucket_;
  std::string work_dir_;  // holds data/ and s3rver.log
  std::string data_dir_;
  int port_ = 0;
};

}  // namespace strata::testing
