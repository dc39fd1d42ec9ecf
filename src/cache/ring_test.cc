#include "cache/ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace strata::cache {
namespace {

constexpr int kKeys = 100000;

// Keys shaped like real block keys (chunk/block_key.h).
std::vector<std::string> Keys() {
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    const uint64_t id = 1000 + static_cast<uint64_t>(i) / 4;
    keys.push_back("vol/chunks/0/" + std::to_string(id / 1000) + "/" + std::to_string(id) + "_" +
                   std::to_string(i % 4) + "_4194304");
  }
  return keys;
}

std::vector<RingMember> Members(int n, uint64_t weight = 1ULL << 30) {
  std::vector<RingMember> m;
  for (int i = 0; i < n; ++i) m.push_back({"10.0.0." + std::to_string(i + 1) + ":7070", weight});
  return m;
}

// Owner ids of every key.
std::vector<std::string> Owners(const HashRing& ring, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(ring.members()[ring.Owner(k)].id);
  return out;
}

TEST(HashRing, EmptyRingHasNoOwner) {
  HashRing ring;
  EXPECT_EQ(ring.Owner("a"), -1);
  EXPECT_TRUE(ring.empty());
}

TEST(HashRing, VnodesFollowWeightWithinBounds) {
  EXPECT_EQ(HashRing::VnodesFor(0), HashRing::kMinVnodes);
  EXPECT_EQ(HashRing::VnodesFor(1ULL << 30), HashRing::kMinVnodes);
  EXPECT_EQ(HashRing::VnodesFor(64ULL << 30), 512u);
  EXPECT_EQ(HashRing::VnodesFor(1ULL << 50), HashRing::kMaxVnodes);
  HashRing ring(Members(3));
  EXPECT_EQ(ring.points(), 3 * HashRing::kMinVnodes);
}

TEST(HashRing, DuplicateIdsCountOnce) {
  auto m = Members(2);
  m.push_back(m[0]);
  HashRing ring(m);
  EXPECT_EQ(ring.members().size(), 2u);
}

TEST(HashRing, MemberOrderDoesNotChangeOwners) {
  const auto keys = Keys();
  auto m = Members(5);
  HashRing a(m);
  std::reverse(m.begin(), m.end());
  HashRing b(m);
  EXPECT_EQ(Owners(a, keys), Owners(b, keys));
}

// Each of N members owns about 1/N of the keys; removing one moves only that member's keys.
TEST(HashRing, RemovingOneOfNMovesAboutOneNth) {
  const auto keys = Keys();
  for (int n : {4, 8, 16}) {
    auto m = Members(n);
    const auto before = Owners(HashRing(m), keys);
    const std::string gone = m[n / 2].id;
    m.erase(m.begin() + n / 2);
    const auto after = Owners(HashRing(m), keys);
    int moved = 0;
    for (int i = 0; i < kKeys; ++i) {
      if (before[i] != after[i]) {
        ++moved;
        EXPECT_EQ(before[i], gone) << "a key of a member that stayed moved";
      }
    }
    const double share = static_cast<double>(moved) / kKeys;
    EXPECT_GT(share, 0.5 / n) << n << " members";
    EXPECT_LT(share, 1.5 / n) << n << " members";
  }
}

// Adding a member moves about 1/(N+1) of the keys, every one of them to the new member.
TEST(HashRing, AddingOneMovesAboutOneNthToTheNewcomer) {
  const auto keys = Keys();
  for (int n : {3, 7, 15}) {
    auto m = Members(n + 1);
    const RingMember added = m.back();
    m.pop_back();
    const auto before = Owners(HashRing(m), keys);
    m.push_back(added);
    const auto after = Owners(HashRing(m), keys);
    int moved = 0;
    for (int i = 0; i < kKeys; ++i) {
      if (before[i] != after[i]) {
        ++moved;
        EXPECT_EQ(after[i], added.id);
      }
    }
    const double share = static_cast<double>(moved) / kKeys;
    EXPECT_GT(share, 0.5 / (n + 1)) << n << " members";
    EXPECT_LT(share, 1.5 / (n + 1)) << n << " members";
  }
}

// A member with four times the cache gets about four times the keys.
TEST(HashRing, SharesFollowCacheSize) {
  const auto keys = Keys();
  auto m = Members(4, 32ULL << 30);  // 256 vnodes each
  m[0].weight = 128ULL << 30;        // 1024 vnodes
  const auto owners = Owners(HashRing(m), keys);
  int big = 0;
  for (const auto& o : owners) big += o == m[0].id;
  const double share = static_cast<double>(big) / kKeys;  // expected 4/7
  EXPECT_GT(share, 0.50);
  EXPECT_LT(share, 0.65);
}

TEST(HashRing, Hash64IsFixed) {
  // A fixed value (computed independently from the definition in ring.h): members of
  // different builds must agree on owners, so the hash may never change silently.
  EXPECT_EQ(Hash64("strata"), 0x6df26aba1d52c6bfULL);
  EXPECT_NE(Hash64("a#1"), Hash64("a#2"));
}

}  // namespace
}  // namespace strata::cache
