// HashRing: the cache group's consistent-hash ring over block keys (DESIGN.md §7). Each member
// is placed on a 64-bit ring at many points (virtual nodes), as many as its cache size earns:
// VnodesFor(weight) = weight / 128 MiB, at least kMinVnodes and at most kMaxVnodes (so caches
// of 8 GiB and less count alike, and weights saturate at 512 GiB, which bounds the ring at
// 4096 points a member). A key belongs to the member owning the first point at or after the
// key's hash, wrapping around. Adding or removing one of N members of equal weight moves only
// the keys that member gains or loses: about 1/N of them (ring_test.cc).
//
// Hashes are Hash64 below — FNV-1a over the bytes, then the splitmix64 finaliser — so every
// member, on every machine and build, computes the same owner for a key. A member's points
// are Hash64("{id}#{i}") for i in [0, vnodes); ids are the members' peer addresses.
//
// Thread-safety: a value; const methods may be called concurrently. CacheGroup swaps whole
// rings under its lock (cache_group.h) rather than mutating one in place.
// Errors: none; Owner of an empty ring is -1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::cache {

// A stable 64-bit hash of bytes (not cryptographic).
uint64_t Hash64(std::string_view data);

struct RingMember {
  std::string id;       // the member's peer address, HOST:PORT
  uint64_t weight = 0;  // its cache size in bytes
  bool operator==(const RingMember&) const = default;
};

class HashRing {
 public:
  static constexpr uint32_t kMinVnodes = 64;
  static constexpr uint32_t kMaxVnodes = 4096;
  static constexpr uint64_t kBytesPerVnode = 128ULL << 20;
  static uint32_t VnodesFor(uint64_t weight);

  HashRing() = default;
  // Members with a duplicate id are kept once (the first).
  explicit HashRing(std::vector<RingMember> members);

  // Index into members() of the key's owner; -1 when the ring is empty.
  int Owner(std::string_view key) const;
  const std::vector<RingMember>& members() const { return members_; }
  bool empty() const { return members_.empty(); }
  size_t points() const { return points_.size(); }

 private:
  std::vector<RingMember> members_;
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // (hash, member index), sorted
};

}  // namespace strata::cache
