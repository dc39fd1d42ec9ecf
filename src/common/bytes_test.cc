#include "common/bytes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace strata {
namespace {

TEST(BytesTest, BigEndianLayoutAndRoundTrip) {
  std::string s;
  PutU8(&s, 0xAB);
  PutU16BE(&s, 0x0102);
  PutU32BE(&s, 0x03040506);
  PutU64BE(&s, 0x0708090A0B0C0D0EULL);
  EXPECT_EQ(s, std::string("\xAB\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0A\x0B\x0C\x0D\x0E", 15));
  EXPECT_EQ(GetU16BE(s.data() + 1), 0x0102);
  EXPECT_EQ(GetU32BE(s.data() + 3), 0x03040506u);
  EXPECT_EQ(GetU64BE(s.data() + 7), 0x0708090A0B0C0D0EULL);
  std::string max;
  PutU64BE(&max, UINT64_MAX);
  EXPECT_EQ(GetU64BE(max.data()), UINT64_MAX);
}

TEST(BytesTest, EncodedOrderIsNumericOrder) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values = {0, 1, 255, 256, 65535, 1ULL << 32, UINT64_MAX};
  for (int i = 0; i < 200; i++) values.push_back(rng() >> (rng() % 64));
  std::vector<std::string> keys;
  for (uint64_t v : values) {
    std::string k;
    PutU64BE(&k, v);
    keys.push_back(k);
  }
  std::sort(values.begin(), values.end());
  std::sort(keys.begin(), keys.end());  // bytewise, as a KV engine sorts
  for (size_t i = 0; i < values.size(); i++) EXPECT_EQ(GetU64BE(keys[i].data()), values[i]);
}

TEST(ByteReaderTest, ReadsInOrderAndRefusesShortInput) {
  std::string s;
  PutU8(&s, 9);
  PutU32BE(&s, 77);
  s += "tail";
  ByteReader r(s);
  uint8_t a;
  uint32_t b;
  std::string_view t;
  ASSERT_TRUE(r.ReadU8(&a));
  ASSERT_TRUE(r.ReadU32(&b));
  EXPECT_EQ(a, 9);
  EXPECT_EQ(b, 77u);
  uint64_t too_big;
  EXPECT_FALSE(r.ReadU64(&too_big));  // only 4 bytes left
  EXPECT_EQ(r.remaining(), "tail");   // nothing consumed by the failed read
  EXPECT_FALSE(r.ReadBytes(5, &t));
  ASSERT_TRUE(r.ReadBytes(4, &t));
  EXPECT_EQ(t, "tail");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadU8(&a));
}

}  // namespace
}  // namespace strata
