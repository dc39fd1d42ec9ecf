#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata {
namespace {

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// Test vectors from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, Rfc3720Vectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc, dec;
  for (int i = 0; i < 32; i++) {
    inc.push_back(static_cast<char>(i));
    dec.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(dec), 0x113FDB5Cu);
}

TEST(Crc32cTest, ExtendEqualsWholeAtEverySplit) {
  std::string data = "The quick brown fox jumps over the lazy dog, twice over.";
  uint32_t whole = Crc32c(data);
  for (size_t i = 0; i <= data.size(); i++) {
    std::string_view a(data.data(), i), b(data.data() + i, data.size() - i);
    EXPECT_EQ(Crc32cExtend(Crc32cExtend(0, a), b), whole) << i;
  }
}

TEST(Crc32cTest, DetectsSingleBitFlip) {
  std::string data(4096, 'x');
  uint32_t before = Crc32c(data);
  data[1234] ^= 0x10;
  EXPECT_NE(Crc32c(data), before);
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnRandomData) {
  if (!Crc32cHardwareAvailable()) GTEST_SKIP() << "this CPU has no SSE4.2";
  std::mt19937_64 rng(42);
  std::string buf(1 << 17, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  // Every length 0..300 at every misalignment 0..7, then a few large ones.
  for (size_t off = 0; off < 8; off++) {
    for (size_t len = 0; len <= 300; len++) {
      uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32cExtendHardware(seed, buf.data() + off, len),
                Crc32cExtendPortable(seed, buf.data() + off, len))
          << "off=" << off << " len=" << len;
    }
  }
  for (size_t len : {4096u, 65535u, 65536u - 3}) {
    EXPECT_EQ(Crc32cExtendHardware(0, buf.data() + 3, len),
              Crc32cExtendPortable(0, buf.data() + 3, len));
  }
  // Around and above the size where the hardware path splits into three stripes, at every
  // misalignment, with a seed.
  for (size_t off = 0; off < 8; off++) {
    for (size_t len : {12287u, 12288u, 12289u, 12295u, 12296u, 65536u, 131063u}) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(Crc32cExtendHardware(seed, buf.data() + off, len),
                Crc32cExtendPortable(seed, buf.data() + off, len))
          << "off=" << off << " len=" << len;
    }
  }
}

}  // namespace
}  // namespace strata
