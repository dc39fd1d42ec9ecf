// Block naming and the block codec (docs/format/block-layout.md).
#include <gtest/gtest.h>

#include <random>

#include "chunk/block_codec.h"
#include "chunk/block_key.h"

namespace strata::chunk {
namespace {

TEST(BlockKey, LayoutMatchesDesign) {
  EXPECT_EQ(BlockKey("vol/", 1234567, 3, 4194304), "vol/chunks/1/1234/1234567_3_4194304");
  EXPECT_EQ(BlockKey("", 7, 0, 10), "chunks/0/0/7_0_10");
  EXPECT_EQ(ChunksPrefix("vol/"), "vol/chunks/");
}

TEST(BlockKey, ParseRoundTripsAndRejectsOthers) {
  auto p = ParseBlockKey("vol/", BlockKey("vol/", 98765432, 15, 65536));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, (BlockKeyParts{98765432, 15, 65536}));
  EXPECT_FALSE(ParseBlockKey("vol/", "vol/chunks/0/2/1234_0_5").ok());  // wrong dir for the id
  EXPECT_FALSE(ParseBlockKey("vol/", "other/chunks/0/0/7_0_10").ok());
  EXPECT_FALSE(ParseBlockKey("vol/", "vol/chunks/0/0/7_0").ok());
  EXPECT_FALSE(ParseBlockKey("vol/", "vol/chunks/0/0/7_0_x").ok());
  EXPECT_FALSE(ParseBlockKey("vol/", "vol/chunks/0/0/07_0_1").ok());
  EXPECT_FALSE(ParseBlockKey("vol/", "vol/strata.uuid").ok());
}

TEST(BlockKey, BlocksOfASlice) {
  EXPECT_EQ(NumBlocks(0, 100), 0u);
  EXPECT_EQ(NumBlocks(100, 100), 1u);
  EXPECT_EQ(NumBlocks(101, 100), 2u);
  EXPECT_EQ(BlockLen(250, 100, 2), 50u);
  EXPECT_EQ(BlockLen(250, 100, 1), 100u);
  auto keys = SliceBlockKeys("v/", 5, 250, 100);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[2], "v/chunks/0/0/5_2_50");
}

std::string Compressible(size_t n) {
  std::string s;
  while (s.size() < n) s += "strata block " + std::to_string(s.size() % 977) + "\n";
  s.resize(n);
  return s;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

class CodecTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTrips) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, size_t{1} << 20}) {
    for (const std::string& plain : {Compressible(n), Random(n, 7)}) {
      std::string body = EncodeBlock(plain, GetParam());
      auto back = DecodeBlock(body, static_cast<uint32_t>(plain.size()));
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, plain);
    }
  }
}

TEST_P(CodecTest, CompressesWhatItCanAndStoresTheRestPlain) {
  std::string plain = Compressible(1 << 20);
  std::string body = EncodeBlock(plain, GetParam());
  if (GetParam() == Compression::kNone) {
    EXPECT_EQ(body.size(), plain.size() + kBlockTrailerSize);
    EXPECT_EQ(body.substr(0, plain.size()), plain);  // ranged reads see plain bytes
  } else {
    EXPECT_LT(body.size(), plain.size() / 4);
  }
  std::string noise = Random(1 << 16, 3);
  std::string stored = EncodeBlock(noise, GetParam());
  EXPECT_EQ(stored.size(), noise.size() + kBlockTrailerSize);  // incompressible: stored plain
  EXPECT_EQ(stored.substr(0, noise.size()), noise);
}

// The two parts a Put writes without joining them are the body EncodeBlock builds.
TEST_P(CodecTest, PartsJoinToTheBody) {
  for (size_t n : {size_t{0}, size_t{4096}, size_t{1} << 20}) {
    for (const std::string& plain : {Compressible(n), Random(n, 9)}) {
      std::string compressed = "stale";
      std::string trailer = EncodeBlockParts(plain, GetParam(), &compressed);
      EXPECT_EQ(trailer.size(), kBlockTrailerSize);
      std::string_view payload = compressed.empty() ? std::string_view(plain) : compressed;
      EXPECT_EQ(std::string(payload) + trailer, EncodeBlock(plain, GetParam())) << n;
    }
  }
}

TEST_P(CodecTest, DetectsCorruption) {
  std::string plain = Compressible(100000);
  std::string body = EncodeBlock(plain, GetParam());
  std::string flipped = body;
  flipped[body.size() / 3] ^= 0x20;
  auto r = DecodeBlock(flipped, 100000);
  EXPECT_TRUE(r.status().Is(Code::kCorruption)) << r.status().ToString();
  EXPECT_NE(r.status().message().find("checksum"), std::string_view::npos);
  EXPECT_TRUE(DecodeBlock(body, 99999).status().Is(Code::kCorruption));  // length from key
  EXPECT_TRUE(DecodeBlock(body.substr(0, body.size() - 1), 100000).status().Is(Code::kCorruption));
  EXPECT_TRUE(DecodeBlock("short", 5).status().Is(Code::kCorruption));
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest,
                         ::testing::Values(Compression::kNone, Compression::kLz4,
                                           Compression::kZstd),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(Compression, Names) {
  EXPECT_EQ(*ParseCompression("zstd"), Compression::kZstd);
  EXPECT_EQ(*ParseCompression("lz4"), Compression::kLz4);
  EXPECT_EQ(*ParseCompression("none"), Compression::kNone);
  EXPECT_TRUE(ParseCompression("gzip").status().Is(Code::kInvalidArgument));
}

}  // namespace
}  // namespace strata::chunk
