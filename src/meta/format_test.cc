#include <gtest/gtest.h>

#include "meta/format.h"

namespace strata::meta {
namespace {

VolumeFormat Valid() {
  VolumeFormat f;
  f.name = "vol1";
  f.uuid = "0f2c0000-0000-4000-8000-000000000001";
  f.storage_url = "s3://bucket/prefix";
  f.access_key = "AKIA";
  f.secret_key = "s3cr3t-value";
  f.block_size = 1 << 20;
  f.compression = "zstd";
  f.trash_days = 3;
  f.capacity_bytes = 1ULL << 40;
  f.max_inodes = 12345;
  return f;
}

TEST(VolumeFormatTest, JsonRoundTripKeepsEveryField) {
  VolumeFormat f = Valid();
  auto back = VolumeFormat::FromJson(f.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, f.name);
  EXPECT_EQ(back->uuid, f.uuid);
  EXPECT_EQ(back->storage_url, f.storage_url);
  EXPECT_EQ(back->access_key, f.access_key);
  EXPECT_EQ(back->secret_key, f.secret_key);
  EXPECT_EQ(back->block_size, f.block_size);
  EXPECT_EQ(back->compression, f.compression);
  EXPECT_EQ(back->trash_days, f.trash_days);
  EXPECT_EQ(back->capacity_bytes, f.capacity_bytes);
  EXPECT_EQ(back->max_inodes, f.max_inodes);
  EXPECT_EQ(back->format_version, VolumeFormat::kCurrentVersion);
}

TEST(VolumeFormatTest, MaskedJsonHidesSecrets) {
  VolumeFormat f = Valid();
  f.storage_url = "https://user:hunter2@minio.local/bucket";
  std::string m = f.MaskedJson();
  EXPECT_EQ(m.find("s3cr3t-value"), std::string::npos);
  EXPECT_EQ(m.find("hunter2"), std::string::npos);
  EXPECT_NE(m.find("****"), std::string::npos);
  EXPECT_NE(m.find("vol1"), std::string::npos);
  EXPECT_NE(m.find("minio.local/bucket"), std::string::npos);
}

TEST(VolumeFormatTest, ValidateNamesTheBadField) {
  EXPECT_TRUE(Valid().Validate().ok());
  auto bad = [](auto mutate) {
    VolumeFormat f = Valid();
    mutate(f);
    return f.Validate();
  };
  Status s = bad([](VolumeFormat& f) { f.name = ""; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = bad([](VolumeFormat& f) { f.name = "a/b"; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = bad([](VolumeFormat& f) { f.block_size = 32 << 10; });
  EXPECT_NE(s.message().find("block size"), std::string::npos);
  s = bad([](VolumeFormat& f) { f.block_size = 32 << 20; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = bad([](VolumeFormat& f) { f.block_size = 3 << 20; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = bad([](VolumeFormat& f) { f.compression = "gzip"; });
  EXPECT_NE(s.message().find("compression"), std::string::npos);
  s = bad([](VolumeFormat& f) { f.trash_days = -1; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  s = bad([](VolumeFormat& f) { f.storage_url = ""; });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
}

TEST(VolumeFormatTest, FromJsonRejectsGarbageAndNewerVersions) {
  EXPECT_EQ(VolumeFormat::FromJson("not json").code(), Code::kCorruption);
  EXPECT_EQ(VolumeFormat::FromJson("[1,2]").code(), Code::kCorruption);
  EXPECT_EQ(VolumeFormat::FromJson(R"({"name":"a"})").code(), Code::kCorruption);
  EXPECT_EQ(VolumeFormat::FromJson(R"({"name":5,"format_version":1})").code(), Code::kCorruption);
  EXPECT_EQ(VolumeFormat::FromJson(R"({"name":"a","format_version":99})").code(),
            Code::kNotSupported);
  auto ok = VolumeFormat::FromJson(R"({"name":"a","storage":"mem://","format_version":1})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->block_size, 4u << 20);  // absent fields keep their defaults
  EXPECT_EQ(ok->compression, "none");
}

}  // namespace
}  // namespace strata::meta
