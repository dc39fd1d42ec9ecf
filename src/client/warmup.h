// Warmup: the mount side of `strata warmup` — for one 64 MiB chunk of one file, find the
// blocks its current slices use and fill, check or evict them (DESIGN.md §7):
//
//   fill   a cache group member asks each block's owner to hold it (the owner fetches it from
//          the store once); without a group the block is fetched into the local tiers;
//   check  counts the blocks held (by their owners in a group, else locally);
//   evict  drops them from the same caches (never from the store).
//
// The tool walks the directory tree through the mount and sends one request per chunk
// (control_server.h), so the work is spread over its --threads and the progress moves per
// chunk, not per file.
//
// Thread-safety: WarmChunk may run on many threads at once (the tiers are thread-safe).
// Errors: kNotFound (no such inode), kInvalidArgument (not a regular file), metadata errors;
// per-block failures are counted in the result (the first one kept), not returned.
#pragma once

#include <cstdint>
#include <string>

#include "client/client.h"
#include "common/status.h"

namespace strata::client {

enum class WarmMode { kFill, kCheck, kEvict };
Result<WarmMode> ParseWarmMode(const std::string& text);

struct WarmResult {
  uint64_t blocks = 0;         // blocks the chunk uses
  uint64_t bytes = 0;          // their plain bytes
  uint64_t cached_blocks = 0;  // held before this request (fill, check) / dropped (evict)
  uint64_t cached_bytes = 0;
  uint64_t failed = 0;         // blocks that could not be filled, checked or evicted
  std::string error;           // the first failure
};

Result<WarmResult> WarmChunk(Client& client, uint64_t ino, uint32_t chunk, WarmMode mode);

}  // namespace strata::client
