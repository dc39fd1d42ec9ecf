#include "common/block_buffer.h"

#include <algorithm>
#include <cstring>
#include <ostream>
#include <utility>

namespace strata {

BlockBuffer::BlockBuffer(BlockBuffer&& other) noexcept
    : raw_(std::move(other.raw_)),
      raw_capacity_(std::exchange(other.raw_capacity_, 0)),
      str_(std::move(other.str_)),
      off_(std::exchange(other.off_, 0)),
      size_(std::exchange(other.size_, 0)) {
  other.str_.clear();  // a moved-from string is only "valid": make it the empty buffer
}

BlockBuffer& BlockBuffer::operator=(BlockBuffer&& other) noexcept {
  if (this != &other) {
    raw_ = std::move(other.raw_);
    raw_capacity_ = std::exchange(other.raw_capacity_, 0);
    str_ = std::move(other.str_);
    other.str_.clear();
    off_ = std::exchange(other.off_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

BlockBuffer BlockBuffer::Uninitialized(size_t n) {
  BlockBuffer b;
  if (n == 0) return b;
  // make_unique_for_overwrite: default-initialised chars, i.e. no pass over the bytes.
  b.raw_ = std::make_unique_for_overwrite<char[]>(n);
  b.raw_capacity_ = n;
  b.size_ = n;
  return b;
}

BlockBuffer BlockBuffer::WithCapacity(size_t capacity) {
  BlockBuffer b = Uninitialized(capacity);
  b.size_ = 0;
  return b;
}

BlockBuffer BlockBuffer::Adopt(std::string bytes) {
  BlockBuffer b;
  b.size_ = bytes.size();
  b.str_ = std::move(bytes);
  return b;
}

BlockBuffer BlockBuffer::Copy(std::string_view bytes) {
  BlockBuffer b = Uninitialized(bytes.size());
  if (!bytes.empty()) std::memcpy(b.raw_.get(), bytes.data(), bytes.size());
  return b;
}

SharedBlock BlockBuffer::Share(BlockBuffer buffer) {
  return std::make_shared<const BlockBuffer>(std::move(buffer));
}

size_t BlockBuffer::capacity() const { return (raw_ ? raw_capacity_ : str_.capacity()) - off_; }

void BlockBuffer::Narrow(size_t off, size_t len) {
  off_ += off;
  size_ = len;
  if (!raw_) str_.resize(off_ + size_);  // a truncation: writes one terminator, copies nothing
}

void BlockBuffer::Reserve(size_t n) {
  if (capacity() >= n) return;
  auto grown = std::make_unique_for_overwrite<char[]>(n);
  if (size_ > 0) std::memcpy(grown.get(), data(), size_);
  raw_ = std::move(grown);
  raw_capacity_ = n;
  std::string().swap(str_);  // string mode ends here: its storage goes now
  off_ = 0;
}

void BlockBuffer::Append(std::string_view bytes) {
  if (bytes.empty()) return;
  if (size_ + bytes.size() > capacity()) Reserve(std::max(size_ + bytes.size(), 2 * size_));
  if (raw_) {
    std::memcpy(raw_.get() + off_ + size_, bytes.data(), bytes.size());
  } else {
    str_.append(bytes);  // within its capacity: no reallocation
  }
  size_ += bytes.size();
}

std::ostream& operator<<(std::ostream& os, const BlockBuffer& b) {
  constexpr size_t kShown = 32;
  os << "BlockBuffer(" << b.size() << " bytes";
  if (!b.empty()) {
    os << ": \"" << b.view().substr(0, kShown) << (b.size() > kShown ? "\"..." : "\"");
  }
  return os << ")";
}

}  // namespace strata
