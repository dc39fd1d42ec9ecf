#include "chunk/read_buffer.h"

#include <algorithm>
#include <cstring>

namespace strata::chunk {
namespace {

constexpr size_t kZeroPage = 64 << 10;
// Constant (never written): every zero piece points into it.
const char kZeros[kZeroPage] = {};

}  // namespace

void ReadBuffer::AppendBlock(cache::BlockData block, size_t off, size_t len) {
  if (len == 0) return;
  const char* p = block->data() + off;
  pieces_.push_back(Piece{std::move(block), p, len});
  size_ += len;
}

void ReadBuffer::AppendZeros(size_t len) {
  size_ += len;
  while (len > 0) {
    size_t n = std::min(len, kZeroPage);
    pieces_.push_back(Piece{nullptr, kZeros, n});
    len -= n;
  }
}

void ReadBuffer::AppendOwned(std::string bytes) {
  if (bytes.empty()) return;
  auto owned = BlockBuffer::Share(BlockBuffer::Adopt(std::move(bytes)));
  size_t n = owned->size();
  AppendBlock(std::move(owned), 0, n);
}

void ReadBuffer::Overlay(size_t pos, std::string bytes) {
  if (bytes.empty()) return;
  const size_t end = pos + bytes.size();
  std::vector<Piece> out;
  out.reserve(pieces_.size() + 2);
  size_t at = 0;  // offset of the current piece
  bool placed = false;
  auto place = [&] {
    auto owned = BlockBuffer::Share(BlockBuffer::Adopt(std::move(bytes)));
    const char* p = owned->data();
    size_t n = owned->size();
    out.push_back(Piece{std::move(owned), p, n});
    placed = true;
  };
  for (Piece& piece : pieces_) {
    size_t lo = at, hi = at + piece.len;
    at = hi;
    if (hi <= pos || lo >= end) {  // untouched
      if (lo >= end && !placed) place();
      out.push_back(std::move(piece));
      continue;
    }
    if (lo < pos) out.push_back(Piece{piece.owner, piece.data, pos - lo});  // head kept
    if (!placed) place();
    if (hi > end) {  // tail kept
      out.push_back(Piece{piece.owner, piece.data + (end - lo), hi - end});
    }
  }
  if (!placed) place();
  pieces_ = std::move(out);
}

std::string ReadBuffer::Flatten() const {
  std::string out;
  out.reserve(size_);
  for (const Piece& p : pieces_) out.append(p.data, p.len);
  return out;
}

}  // namespace strata::chunk
