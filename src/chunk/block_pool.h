// BlockPool: a small free list of block-sized buffers for the writer's streaming blocks.
//
// Why: a 1 GiB sequential write through a fresh mount faulted in 35-48 k fresh pages
// (140-190 MiB) in BlockBuffer::Append, even with a 24 MiB --buffer-size: each 4 MiB block
// was a new allocation on whichever FUSE thread started it, glibc serves each thread from its
// own arena, and a block freed by an upload thread goes back to the arena of the thread that
// allocated it, where the next block (started on another FUSE thread) does not find it. Each
// arena grew to hold a few blocks of its own (bench/RESULTS.md, "Write path at the FUSE
// ceiling"). One free list shared by all threads hands the last freed block to the next
// writer instead: its pages are mapped already and, when few blocks are in flight, still in
// the CPU's cache.
//
// Take() returns an empty buffer with capacity block_size: a recycled one (most recently
// freed first) or a new one. When the last reference to it goes (the writer after the upload,
// a cache tier after eviction, a read reply), its storage goes back to the free list unless
// max_free buffers are waiting there already (then it is freed). Trim() frees every waiting
// buffer (the writer calls it when it is idle, so an idle mount does not keep them). A buffer
// may outlive the pool: it is then simply freed.
//
// Ownership: the pool owns the waiting buffers; a taken buffer is owned by its shared
// references. Thread-safety: every method may be called from any thread concurrently, and so
// may the release of a taken buffer (one mutex, never held while calling out).
// Errors: none; allocation failure throws std::bad_alloc as BlockBuffer does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/block_buffer.h"
#include "common/status.h"

namespace strata::chunk {

struct BlockPoolStats {
  uint64_t taken = 0;     // Take() calls
  uint64_t reused = 0;    // of those, served from the free list
  uint64_t waiting = 0;   // buffers in the free list now
};

class BlockPool {
 public:
  // kInvalidArgument for block_size 0.
  static Result<std::unique_ptr<BlockPool>> Open(size_t block_size, size_t max_free);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  std::shared_ptr<BlockBuffer> Take();
  void Trim();
  BlockPoolStats stats() const;
  size_t block_size() const { return block_size_; }

 private:
  struct Shelf;          // the free list; shared with the deleters of taken buffers
  struct ReturnToShelf;  // the deleter of a taken buffer
  BlockPool(size_t block_size, std::shared_ptr<Shelf> shelf);

  const size_t block_size_;
  const std::shared_ptr<Shelf> shelf_;
};

}  // namespace strata::chunk
