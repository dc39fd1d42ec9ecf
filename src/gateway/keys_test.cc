#include "gateway/keys.h"

#include <gtest/gtest.h>

namespace strata::gateway {
namespace {

bool Refused(const std::string& key) { return std::holds_alternative<S3Error>(ParseKey(key)); }

TEST(Keys, RefusesWhatCouldLeaveTheBucket) {
  for (const char* k : {"", "..", "a/../b", "./a", "a//b", "/a", "a/./b", "a/.."}) {
    EXPECT_TRUE(Refused(k)) << k;
  }
  EXPECT_TRUE(Refused(std::string("a\0b", 3)));
  EXPECT_TRUE(Refused(std::string(256, 'n')));
  EXPECT_FALSE(Refused(std::string(255, 'n')));
  std::string long_key;
  while (long_key.size() <= kMaxKeyBytes) long_key += "dir/";
  long_key += "f";
  EXPECT_EQ(std::get<S3Error>(ParseKey(long_key)).code, "KeyTooLongError");
}

TEST(Keys, SplitsPathsAndFolders) {
  auto k = std::get<KeyPath>(ParseKey("a/b/c.txt"));
  EXPECT_EQ(k.dirs, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(k.name, "c.txt");
  EXPECT_FALSE(k.folder);
  auto f = std::get<KeyPath>(ParseKey("a/b/"));
  EXPECT_TRUE(f.folder);
  EXPECT_EQ(f.dirs, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(Refused("..a/b..c/.hidden"));  // dots inside names are fine
}

TEST(Keys, BucketNames) {
  EXPECT_TRUE(CheckBucketName(".trash").has_value());
  EXPECT_TRUE(CheckBucketName(".s3-uploads").has_value());
  EXPECT_FALSE(CheckBucketName("Photos_2024").has_value());  // an existing directory may serve
  EXPECT_TRUE(CheckNewBucketName("Photos_2024").has_value());  // but S3 rules for new buckets
  EXPECT_FALSE(CheckNewBucketName("photos-2024").has_value());
  EXPECT_TRUE(CheckNewBucketName("ab").has_value());
}

}  // namespace
}  // namespace strata::gateway
