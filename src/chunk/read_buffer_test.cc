// ReadBuffer: pieces, zeros and the writer's overlay give the same bytes as a flat buffer
// edited the same way; DecodeBlockInPlace matches DecodeBlock and keeps bad bodies unchanged.
#include "chunk/read_buffer.h"

#include <gtest/gtest.h>

#include <random>

#include "chunk/block_codec.h"

namespace strata::chunk {
namespace {

cache::BlockData Block(const std::string& s) { return BlockBuffer::Share(BlockBuffer::Copy(s)); }

TEST(ReadBuffer, PiecesZerosAndFlatten) {
  ReadBuffer b;
  b.AppendBlock(Block("0123456789"), 2, 5);
  b.AppendZeros(70000);  // more than one zero page
  b.AppendOwned("xyz");
  std::string want = "23456" + std::string(70000, '\0') + "xyz";
  EXPECT_EQ(b.size(), want.size());
  EXPECT_EQ(b.Flatten(), want);
  size_t sum = 0;
  for (const auto& p : b.pieces()) sum += p.len;
  EXPECT_EQ(sum, want.size());
}

TEST(ReadBuffer, OverlayMatchesAFlatBuffer) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; round++) {
    ReadBuffer b;
    std::string flat;
    int pieces = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < pieces; i++) {
      size_t n = 1 + rng() % 50;
      if (rng() % 3 == 0) {
        b.AppendZeros(n);
        flat.append(n, '\0');
      } else {
        std::string s;
        for (size_t k = 0; k < n + 10; k++) s.push_back(static_cast<char>('a' + rng() % 26));
        b.AppendBlock(Block(s), 5, n);
        flat += s.substr(5, n);
      }
    }
    int overlays = static_cast<int>(rng() % 4);
    for (int i = 0; i < overlays; i++) {
      size_t pos = rng() % flat.size();
      size_t n = 1 + rng() % (flat.size() - pos);
      std::string o(n, static_cast<char>('A' + i));
      b.Overlay(pos, o);
      flat.replace(pos, n, o);
    }
    ASSERT_EQ(b.size(), flat.size());
    ASSERT_EQ(b.Flatten(), flat) << "round " << round;
  }
}

TEST(BlockCodec, DecodeInPlaceMatchesDecode) {
  std::string plain(100000, 'q');
  for (size_t i = 0; i < plain.size(); i += 7) plain[i] = static_cast<char>(i);
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    std::string body = EncodeBlock(plain, c);
    // Read as the store tier reads it: into a buffer that is not zero-filled.
    BlockBuffer copy = BlockBuffer::Copy(body);
    const char* before_decode = copy.data();
    ASSERT_TRUE(DecodeBlockInPlace(&copy, static_cast<uint32_t>(plain.size())).ok());
    EXPECT_EQ(copy, plain);
    // Uncompressed: the trailer is cut off in place, the payload stays where it was read.
    if (c == Compression::kNone) {
      EXPECT_EQ(copy.data(), before_decode);
    }
    std::string bad_body = body;
    bad_body[10] ^= 1;
    BlockBuffer bad = BlockBuffer::Copy(bad_body);
    Status st = DecodeBlockInPlace(&bad, static_cast<uint32_t>(plain.size()));
    EXPECT_TRUE(st.Is(Code::kCorruption)) << st.ToString();
    EXPECT_EQ(bad, bad_body);  // unchanged on error
  }
}

}  // namespace
}  // namespace strata::chunk
