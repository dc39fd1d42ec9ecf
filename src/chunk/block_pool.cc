#include "chunk/block_pool.h"

#include <mutex>
#include <vector>

namespace strata::chunk {

struct BlockPool::Shelf {
  const size_t block_size;
  const size_t max_free;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<BlockBuffer>> free;  // guarded by mu; back = most recent
  uint64_t taken = 0;                              // guarded by mu
  uint64_t reused = 0;                             // guarded by mu
  bool closed = false;  // the pool is gone: released buffers are freed; guarded by mu

  Shelf(size_t size, size_t m) : block_size(size), max_free(m) {}

  // Takes back a released buffer, or returns it to be freed (outside the lock).
  std::unique_ptr<BlockBuffer> Give(std::unique_ptr<BlockBuffer> b) {
    b->Shrink(0);  // capacity stays; contents are rewritten by the next producer
    if (b->capacity() != block_size) return b;  // not one of ours any more (never happens)
    std::lock_guard lock(mu);
    if (closed || free.size() >= max_free) return b;
    free.push_back(std::move(b));
    return nullptr;
  }
};

// Hands a released buffer back to the shelf while the shelf exists.
struct BlockPool::ReturnToShelf {
  std::weak_ptr<BlockPool::Shelf> shelf;
  void operator()(BlockBuffer* raw) const {
    std::unique_ptr<BlockBuffer> b(raw);
    if (auto s = shelf.lock()) b = s->Give(std::move(b));
    // b, when still set, is freed here, with no lock held.
  }
};

Result<std::unique_ptr<BlockPool>> BlockPool::Open(size_t block_size, size_t max_free) {
  if (block_size == 0) return Status::InvalidArgument("block pool: block size must be > 0");
  return std::unique_ptr<BlockPool>(new BlockPool(block_size, std::make_shared<Shelf>(block_size, max_free)));
}

BlockPool::BlockPool(size_t block_size, std::shared_ptr<Shelf> shelf)
    : block_size_(block_size), shelf_(std::move(shelf)) {}

BlockPool::~BlockPool() {
  std::vector<std::unique_ptr<BlockBuffer>> gone;
  std::lock_guard lock(shelf_->mu);
  shelf_->closed = true;  // buffers still out are freed when released (their shelf may live on)
  gone.swap(shelf_->free);
}

std::shared_ptr<BlockBuffer> BlockPool::Take() {
  std::unique_ptr<BlockBuffer> b;
  {
    std::lock_guard lock(shelf_->mu);
    shelf_->taken++;
    if (!shelf_->free.empty()) {
      b = std::move(shelf_->free.back());
      shelf_->free.pop_back();
      shelf_->reused++;
    }
  }
  if (!b) b = std::make_unique<BlockBuffer>(BlockBuffer::WithCapacity(block_size_));
  return std::shared_ptr<BlockBuffer>(b.release(), ReturnToShelf{shelf_});
}

void BlockPool::Trim() {
  std::vector<std::unique_ptr<BlockBuffer>> gone;  // freed after the lock is released
  std::lock_guard lock(shelf_->mu);
  gone.swap(shelf_->free);
}

BlockPoolStats BlockPool::stats() const {
  std::lock_guard lock(shelf_->mu);
  return {shelf_->taken, shelf_->reused, shelf_->free.size()};
}

}  // namespace strata::chunk
