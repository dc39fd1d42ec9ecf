#include "meta/slices.h"

#include <gtest/gtest.h>

#include <random>

namespace strata::meta {
namespace {

// What a reader sees at one byte: bytes of stored slice `id` at offset `off`, or zero (id 0).
struct Byte {
  uint64_t id = 0;
  uint32_t off = 0;
  bool operator==(const Byte&) const = default;
};

// The obvious model: paint each slice's bytes over a byte array in commit order.
std::vector<Byte> Paint(const std::vector<Slice>& slices) {
  std::vector<Byte> bytes;
  for (const Slice& s : slices) {
    if (s.pos + s.len > bytes.size()) bytes.resize(s.pos + s.len);
    for (uint32_t i = 0; i < s.len; i++) {
      bytes[s.pos + i] = s.id == 0 ? Byte{} : Byte{s.id, s.off + i};
    }
  }
  return bytes;
}

// Expands segments into bytes, checking the structural promises of ResolveSlices on the way.
std::vector<Byte> Expand(const std::vector<Segment>& segs) {
  std::vector<Byte> bytes;
  for (size_t k = 0; k < segs.size(); k++) {
    const Segment& g = segs[k];
    EXPECT_EQ(g.pos, bytes.size()) << "segments must be contiguous from 0, segment " << k;
    EXPECT_GT(g.len, 0u) << "empty segment " << k;
    if (g.id == 0) {
      EXPECT_EQ(g.off, 0u);
      EXPECT_EQ(g.size, g.len);
      if (k > 0) {
        EXPECT_NE(segs[k - 1].id, 0u) << "adjacent holes not merged at " << k;
      }
    } else {
      EXPECT_LE(uint64_t{g.off} + g.len, g.size) << "window past the stored slice";
    }
    for (uint32_t i = 0; i < g.len; i++) {
      bytes.push_back(g.id == 0 ? Byte{} : Byte{g.id, g.off + i});
    }
  }
  return bytes;
}

TEST(ResolveSlicesTest, EmptyListHasNoSegments) {
  EXPECT_TRUE(ResolveSlices({}).empty());
  EXPECT_TRUE(ResolveSlices({Slice{10, 5, 100, 0, 0}}).empty());  // zero-length record
}

TEST(ResolveSlicesTest, SingleSliceAtOffsetLeavesLeadingHole) {
  auto segs = ResolveSlices({Slice{100, 7, 50, 0, 50}});
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], (Segment{0, 100, 0, 100, 0}));
  EXPECT_EQ(segs[1], (Segment{100, 50, 7, 50, 0}));
}

TEST(ResolveSlicesTest, LaterSliceWinsInTheMiddleAndSplitsTheEarlierOne) {
  auto segs = ResolveSlices({Slice{0, 1, 100, 0, 100}, Slice{40, 2, 10, 0, 10}});
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0], (Segment{0, 40, 1, 100, 0}));
  EXPECT_EQ(segs[1], (Segment{40, 10, 2, 10, 0}));
  EXPECT_EQ(segs[2], (Segment{50, 50, 1, 100, 50}));  // right part keeps its stored offset
}

TEST(ResolveSlicesTest, EarlierSliceDoesNotHideLaterOne) {
  auto segs = ResolveSlices({Slice{40, 2, 10, 0, 10}, Slice{0, 1, 100, 0, 100}});
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0], (Segment{0, 100, 1, 100, 0}));
}

TEST(ResolveSlicesTest, TrimmedWindowIsHonoured) {
  // Stored slice of 1000 bytes of which only [200, 300) is visible at position 10.
  auto segs = ResolveSlices({Slice{10, 9, 1000, 200, 100}, Slice{50, 3, 20, 5, 10}});
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[0], (Segment{0, 10, 0, 10, 0}));
  EXPECT_EQ(segs[1], (Segment{10, 40, 9, 1000, 200}));
  EXPECT_EQ(segs[2], (Segment{50, 10, 3, 20, 5}));
  EXPECT_EQ(segs[3], (Segment{60, 50, 9, 1000, 250}));
}

TEST(ResolveSlicesTest, HoleSlicePunchesAndMergesWithGaps) {
  // Data [0,100), then a hole record over [50, 200): the hole extends the view past the data
  // and reads as one zero range.
  auto segs = ResolveSlices({Slice{0, 4, 100, 0, 100}, Slice{50, 0, 150, 0, 150}});
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], (Segment{0, 50, 4, 100, 0}));
  EXPECT_EQ(segs[1], (Segment{50, 150, 0, 150, 0}));
  // A hole next to a never-written gap is one hole.
  segs = ResolveSlices({Slice{0, 0, 10, 0, 10}, Slice{20, 5, 10, 0, 10}});
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], (Segment{0, 20, 0, 20, 0}));
}

TEST(ResolveSlicesTest, ExactOverwriteReplaces) {
  auto segs = ResolveSlices({Slice{0, 1, 64, 0, 64}, Slice{0, 2, 64, 0, 64}});
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].id, 2u);
}

TEST(ResolveSlicesTest, ChunkSizedSlicesDoNotOverflow) {
  const uint32_t full = static_cast<uint32_t>(kChunkSize);
  auto segs = ResolveSlices({Slice{0, 1, full, 0, full}, Slice{full - 1, 2, 1, 0, 1}});
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[0], (Segment{0, full - 1, 1, full, 0}));
  EXPECT_EQ(segs[1], (Segment{full - 1, 1, 2, 1, 0}));
}

// Random lists over a small chunk compared against the painted byte array: overlaps of every
// shape, trims (off > 0, len < size), holes, and long lists.
TEST(ResolveSlicesTest, RandomListsMatchByteModel) {
  std::mt19937_64 rng(20260124);
  for (int round = 0; round < 3000; round++) {
    const uint32_t span = 1 + rng() % 300;
    const int count = round < 2000 ? 1 + rng() % 12 : 50 + rng() % 200;
    std::vector<Slice> slices;
    for (int i = 0; i < count; i++) {
      Slice s;
      s.pos = rng() % span;
      s.len = 1 + rng() % (span - s.pos);
      s.id = rng() % 6 == 0 ? 0 : 1000 + i;  // every sixth a hole
      if (s.id == 0) {
        s.size = s.len;
      } else {
        s.off = rng() % 50;
        s.size = s.off + s.len + rng() % 50;
      }
      slices.push_back(s);
    }
    auto segs = ResolveSlices(slices);
    auto got = Expand(segs);
    auto want = Paint(slices);
    ASSERT_EQ(got, want) << "round " << round << " with " << count << " slices";
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace strata::meta
