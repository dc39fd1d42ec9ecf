// The S3rver test harness itself: it starts a real server on a free port with the bucket,
// and stopping it frees the port and removes its data.
#include "tests/support/s3rver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace strata::testing {
namespace {

TEST(S3rverTest, StartsWithBucketAndStopsByPid) {
  auto server = S3rver::Start("harness-bucket");
  if (server.code() == Code::kNotSupported) GTEST_SKIP() << server.status().ToString();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  S3rver& s = **server;
  EXPECT_GT(s.pid(), 0);
  EXPECT_EQ(s.bucket_url(), "http://127.0.0.1:" + std::to_string(s.port()) + "/harness-bucket");
  EXPECT_TRUE(WaitForPort(s.port(), 1000).ok());
  struct stat st;
  EXPECT_EQ(::stat((s.data_dir() + "/harness-bucket").c_str(), &st), 0)
      << "bucket directory missing in " << s.data_dir();
  std::string dir = s.data_dir();
  int port = s.port();
  s.Stop();
  EXPECT_FALSE(WaitForPort(port, 200).ok());
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
}

TEST(S3rverTest, RefusesBadBucketName) {
  EXPECT_EQ(S3rver::Start("AB").code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace strata::testing
