// ReadBuffer: the bytes of one read as a list of pieces pointing into shared immutable blocks
// (cache::BlockData), so that a read costs no copy between the block tiers and the reply: the
// FUSE adapter hands the pieces to the kernel in one writev (fuse_reply_iov). Holes are
// pieces of a constant zero page; the writer's pending bytes laid over committed data
// (read-your-writes) are owned pieces.
//
// Ownership: each piece keeps its block alive (shared_ptr); zero pieces point at constant
// storage. Thread-safety: none (one reader builds it, then the reply reads it).
// Errors: none; REQUIRES are stated per method.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_tier.h"

namespace strata::chunk {

class ReadBuffer {
 public:
  struct Piece {
    cache::BlockData owner;  // null for zeros
    const char* data = nullptr;
    size_t len = 0;
  };

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::vector<Piece>& pieces() const { return pieces_; }

  // Appends bytes [off, off+len) of `block`. REQUIRES: off + len <= block->size().
  void AppendBlock(cache::BlockData block, size_t off, size_t len);
  // Appends `len` zero bytes.
  void AppendZeros(size_t len);
  // Appends a copy-free piece owning `bytes`.
  void AppendOwned(std::string bytes);
  // Replaces bytes [pos, pos + bytes.size()) by `bytes`. REQUIRES: pos + bytes.size() <= size().
  void Overlay(size_t pos, std::string bytes);

  // Every byte in one string (callers that need contiguous bytes: the gateway, tests).
  std::string Flatten() const;

 private:
  std::vector<Piece> pieces_;
  size_t size_ = 0;
};

}  // namespace strata::chunk
