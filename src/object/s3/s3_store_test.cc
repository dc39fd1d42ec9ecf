// Pieces of S3Store that need no server: page clipping for servers that ignore max-keys,
// metadata headers, and Open's own checks. Behaviour against a server is in
// tests/object/s3_conformance_test.cc.
#include "object/s3/s3_store.h"

#include <gtest/gtest.h>

namespace strata::object::s3 {
namespace {

ListResult Page(std::vector<std::string> keys, std::vector<std::string> prefixes) {
  ListResult r;
  for (auto& k : keys) r.objects.push_back(ObjectInfo{k, 1, 0, ""});
  r.common_prefixes = std::move(prefixes);
  return r;
}

std::vector<std::string> Keys(const ListResult& r) {
  std::vector<std::string> out;
  for (const auto& o : r.objects) out.push_back(o.key);
  return out;
}

TEST(ClipPageTest, PageWithinLimitIsUntouched) {
  ListResult r = Page({"a", "c"}, {"b/"});
  ClipPage(r, "", 3);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(r.truncated);
}

TEST(ClipPageTest, OverLimitKeepsFirstEntriesInKeyOrderAndContinuesAfterTheLast) {
  // As s3rver sends it: all keys, then all prefixes, more than max-keys.
  ListResult r = Page({"q/f0", "q/f1"}, {"q/d1/", "q/d2/", "q/d3/"});
  ClipPage(r, "", 2);
  EXPECT_TRUE(r.objects.empty());
  EXPECT_EQ(r.common_prefixes, (std::vector<std::string>{"q/d1/", "q/d2/"}));
  ASSERT_TRUE(r.truncated);
  const std::string token = r.next_continuation;

  // The next request starts after "q/d2/"; the server rolls q/d2/... up into q/d2/ again,
  // which the marker drops.
  const std::string marker = token.substr(token.find(':') + 1);
  EXPECT_EQ(marker, "q/d2/");
  ListResult next = Page({"q/f0", "q/f1"}, {"q/d2/", "q/d3/"});
  ClipPage(next, marker, 2);
  EXPECT_EQ(next.common_prefixes, (std::vector<std::string>{"q/d3/"}));
  EXPECT_EQ(Keys(next), (std::vector<std::string>{"q/f0"}));
  ASSERT_TRUE(next.truncated);
  const std::string marker2 = next.next_continuation.substr(token.find(':') + 1);
  EXPECT_EQ(marker2, "q/f0");
  ListResult last = Page({"q/f1"}, {});
  ClipPage(last, marker2, 2);
  EXPECT_EQ(Keys(last), (std::vector<std::string>{"q/f1"}));
  EXPECT_TRUE(last.common_prefixes.empty());
  EXPECT_FALSE(last.truncated);
}

TEST(S3StoreUnitTest, MetadataHeadersAreLowerCaseAmzMeta) {
  auto h = MetadataHeaders({{"Origin", "x y"}, {"crc32c", "1234"}});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].first, "x-amz-meta-origin");
  EXPECT_EQ(h[0].second, "x y");
  EXPECT_EQ(h[1].first, "x-amz-meta-crc32c");
}

TEST(S3StoreUnitTest, OpenRefusesTinyPartsAndBadKeysFailBeforeAnyRequest) {
  S3Config cfg;
  cfg.endpoint.scheme = "http";
  cfg.endpoint.host = "127.0.0.1";
  cfg.endpoint.port = 1;  // nothing is ever sent here
  cfg.endpoint.bucket = "b";
  cfg.creds = {"AK", "SK", ""};
  cfg.part_size = 1 << 20;
  EXPECT_EQ(S3Store::Open(cfg).code(), Code::kInvalidArgument);
  cfg.part_size = 8 << 20;
  auto store = S3Store::Open(cfg);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Put("", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ((*store)->Get(std::string(2000, 'k')).code(), Code::kInvalidArgument);
  EXPECT_EQ((*store)->UploadPart("k", "u", 0, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ((*store)->CompleteMultipart("k", "u", {}).code(), Code::kInvalidArgument);
  ListOptions o;
  o.limit = 0;
  EXPECT_EQ((*store)->List(o).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace strata::object::s3
