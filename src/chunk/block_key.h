// Block naming (DESIGN.md §4, docs/format/block-layout.md): a slice of `size` bytes is stored
// as ceil(size / block_size) blocks; block i holds plain bytes [i*block_size, ...) of the
// slice and is stored under
//
//     {prefix}chunks/{id/1000000}/{id/1000}/{id}_{i}_{blockLen}
//
// where blockLen is the PLAIN length of that block (so a reader never needs a HEAD). `prefix`
// is the volume's key prefix: "NAME/" when the chunk layer is given the bucket/directory
// root (the default, set by ChunkOptions::FromFormat), or "" when the caller already wrapped
// the store in a prefixing wrapper. It must be "" or end with '/'.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::chunk {

// The object key of block `index` (plain length `len`) of slice `slice_id`.
std::string BlockKey(std::string_view prefix, uint64_t slice_id, uint32_t index, uint32_t len);

// "{prefix}chunks/": every block key starts with this (for gc listings).
std::string ChunksPrefix(std::string_view prefix);

struct BlockKeyParts {
  uint64_t slice_id = 0;
  uint32_t index = 0;
  uint32_t len = 0;
  bool operator==(const BlockKeyParts&) const = default;
};

// Parses a key made by BlockKey with the same prefix; kInvalidArgument when it is not one
// (wrong prefix, wrong directory numbers for the id, non-numeric parts).
Result<BlockKeyParts> ParseBlockKey(std::string_view prefix, std::string_view key);

// Number of blocks of a slice of `slice_size` bytes (0 for 0). REQUIRES: block_size > 0.
uint32_t NumBlocks(uint64_t slice_size, uint32_t block_size);
// Plain length of block `index` of such a slice. REQUIRES: index < NumBlocks(...).
uint32_t BlockLen(uint64_t slice_size, uint32_t block_size, uint32_t index);
// Every block key of the slice, in block order.
std::vector<std::string> SliceBlockKeys(std::string_view prefix, uint64_t slice_id,
                                        uint64_t slice_size, uint32_t block_size);

}  // namespace strata::chunk
