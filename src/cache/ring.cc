#include "cache/ring.h"

#include <algorithm>
#include <unordered_set>

namespace strata::cache {

uint64_t Hash64(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a offset basis
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;  // FNV prime
  }
  // splitmix64's finaliser: FNV alone leaves neighbouring inputs ("a#1", "a#2") close.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

uint32_t HashRing::VnodesFor(uint64_t weight) {
  const uint64_t n = weight / kBytesPerVnode;
  return static_cast<uint32_t>(std::clamp<uint64_t>(n, kMinVnodes, kMaxVnodes));
}

HashRing::HashRing(std::vector<RingMember> members) {
  std::unordered_set<std::string> seen;
  for (RingMember& m : members) {
    if (!seen.insert(m.id).second) continue;
    members_.push_back(std::move(m));
  }
  for (uint32_t i = 0; i < members_.size(); ++i) {
    const uint32_t n = VnodesFor(members_[i].weight);
    for (uint32_t v = 0; v < n; ++v) {
      points_.emplace_back(Hash64(members_[i].id + "#" + std::to_string(v)), i);
    }
  }
  // Ties (vanishingly rare) are broken by member id so that every member sorts alike.
  std::sort(points_.begin(), points_.end(), [this](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return members_[a.second].id < members_[b.second].id;
  });
}

int HashRing::Owner(std::string_view key) const {
  if (points_.empty()) return -1;
  const uint64_t h = Hash64(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const auto& p, uint64_t v) { return p.first < v; });
  if (it == points_.end()) it = points_.begin();
  return static_cast<int>(it->second);
}

}  // namespace strata::cache
