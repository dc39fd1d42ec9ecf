#include "tests/support/s3rver.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace strata::testing {

namespace {

// argv[0] resolved through PATH, or "" when absent.
std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string full = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

std::string SourceDir() {
  const char* env = std::getenv("STRATA_SOURCE_DIR");
  if (env && *env) return env;
  return STRATA_SOURCE_DIR;  // compile definition of strata_test_support
}

Status CheckBucketName(const std::string& b) {
  bool ok = b.size() >= 3 && b.size() <= 63;
  for (char c : b) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  if (!ok) return Status::InvalidArgument("bad bucket name for s3rver: '" + b + "'");
  return Status::OK();
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 400 ? all.substr(all.size() - 400) : all;
}

}  // namespace

Result<std::unique_ptr<S3rver>> S3rver::Start(const std::string& bucket) {
  RETURN_IF_ERROR(CheckBucketName(bucket));
  std::string node = FindInPath("node");
  if (node.empty()) return Status::NotSupported("node is not installed (run scripts/install-deps)");
  std::string script = SourceDir() + "/tests/tools/node_modules/.bin/s3rver";
  if (::access(script.c_str(), R_OK) != 0) {
    return Status::NotSupported("s3rver is not installed at " + script +
                                " (run scripts/install-deps)");
  }
  std::unique_ptr<S3rver> server(new S3rver());
  server->bucket_ = bucket;
  server->work_dir_ = MakeTempDir("strata-s3rver");
  if (server->work_dir_.empty()) return Status::IOError("cannot create a temporary directory");
  server->data_dir_ = server->work_dir_ + "/data";
  std::string log = server->work_dir_ + "/s3rver.log";
  Status last;
  // A port found free may be taken by the time s3rver binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = FreePort();
    if (port == 0) return Status::Unavailable("no free loopback port");
    std::vector<std::string> argv = {node,
                                     "--openssl-legacy-provider",
                                     script,
                                     "-d",
                                     server->data_dir_,
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port),
                                     "--no-vhost-buckets",
                                     "-s",
                                     "--configure-bucket",
                                     bucket};
    RETURN_IF_ERROR(server->process_.Start(argv, log));
    server->port_ = port;
    last = WaitForPort(port, 10000);
    if (last.ok()) return server;
    server->process_.Stop();
  }
  return last.WithContext("s3rver did not start; log: " + Tail(log));
}

S3rver::~S3rver() { Stop(); }

void S3rver::Stop() {
  process_.Stop();
  if (!work_dir_.empty()) {
    RemoveTree(work_dir_);
    work_dir_.clear();
  }
}

}  // namespace strata::testing
