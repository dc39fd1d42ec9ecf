// Overlap resolution of a chunk's slice list (DESIGN.md §4) as a pure function.
//
// Slices are applied in commit order; a later slice wins where it overlaps an earlier one.
// The result is the chunk's visible view as non-overlapping segments sorted by position,
// with gaps (never written) filled by hole segments (id 0) up to `length` when given.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "meta/types.h"

namespace strata::meta {

// A piece of the visible view: bytes [pos, pos+len) of the chunk come from bytes
// [off, off+len) of stored slice id (of `size` bytes); id 0 means zeros.
struct Segment {
  uint32_t pos = 0;
  uint32_t len = 0;
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
  bool operator==(const Segment&) const = default;
};

// Segments covering [0, end) where end = max(pos+len) over slices, holes included.
std::vector<Segment> ResolveSlices(const std::vector<Slice>& slices);

}  // namespace strata::meta
