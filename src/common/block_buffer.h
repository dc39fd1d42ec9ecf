// BlockBuffer: the bytes of one block (or any whole object) in memory, allocated without
// being zero-filled first. std::string cannot grow without writing every new byte (C++23's
// resize_and_overwrite is not in C++20), so every 4 MiB block read into one was zeroed and
// then overwritten: 13% of a mount's CPU on a local disk-cache hit (bench/RESULTS.md, issue 14).
//
// Life of a buffer: ONE producer makes it (Uninitialized, WithCapacity, Adopt, Copy), fills
// it through mutable_data() / Append, trims it (Narrow, Shrink), then publishes it as a
// SharedBlock (Share): from then on nobody writes it again, and readers on any thread read
// data()/size()/view() without a lock, as they did a std::shared_ptr<const std::string>.
//
// Storage: an uninitialised char array of its own, or an adopted std::string (the producers
// that already hold a string hand it over without a copy). Narrow keeps a window
// [off, off + len) of the allocation: trimming a header or trailer moves no byte and frees
// nothing (the allocation stays whole until the buffer goes).
//
// Ownership: move-only; the buffer owns its storage. A SharedBlock keeps it alive for every
// holder (cache tiers, read replies).
// Thread-safety: none while it is produced (one thread); none needed after Share (const).
// Errors: none. Allocation failure throws std::bad_alloc, as std::string does; REQUIRES are
// stated per method.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace strata {

class BlockBuffer;
// A published buffer: shared, immutable.
using SharedBlock = std::shared_ptr<const BlockBuffer>;

class BlockBuffer {
 public:
  // Empty (size 0, capacity 0).
  BlockBuffer() = default;
  BlockBuffer(BlockBuffer&& other) noexcept;
  BlockBuffer& operator=(BlockBuffer&& other) noexcept;
  BlockBuffer(const BlockBuffer&) = delete;
  BlockBuffer& operator=(const BlockBuffer&) = delete;

  // `n` bytes whose values are indeterminate: the producer must write every byte it keeps
  // (then Shrink to what it wrote) before anyone reads them.
  static BlockBuffer Uninitialized(size_t n);
  // Empty, with room for `capacity` bytes of Append before any reallocation.
  static BlockBuffer WithCapacity(size_t capacity);
  // Takes over `bytes` (its storage, not a copy of it).
  static BlockBuffer Adopt(std::string bytes);
  // A copy of `bytes`.
  static BlockBuffer Copy(std::string_view bytes);
  // Publishes `buffer`: never written again.
  static SharedBlock Share(BlockBuffer buffer);

  const char* data() const { return base() + off_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return std::string_view(data(), size_); }
  // So that a block reads where a std::string_view is wanted (the tiers' Write, Crc32c...).
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  std::string ToString() const { return std::string(view()); }
  // Bytes the allocation holds from data() on: Append fills up to this without reallocating.
  size_t capacity() const;

  // ---- the producer's side (before Share)
  char* mutable_data() { return base() + off_; }
  // Keeps bytes [off, off + len) of the current contents; nothing moves.
  // REQUIRES: off + len <= size().
  void Narrow(size_t off, size_t len);
  // Keeps the first `n` bytes. REQUIRES: n <= size().
  void Shrink(size_t n) { Narrow(0, n); }
  // Makes capacity() at least `n`, keeping the contents (copied once when it must grow).
  void Reserve(size_t n);
  // Appends `bytes`, growing the allocation geometrically when it is full.
  // REQUIRES: `bytes` does not point into this buffer.
  void Append(std::string_view bytes);

  friend bool operator==(const BlockBuffer& a, std::string_view b) { return a.view() == b; }

 private:
  const char* base() const { return raw_ ? raw_.get() : str_.data(); }
  char* base() { return raw_ ? raw_.get() : str_.data(); }

  // Exactly one of the two holds the bytes: raw_ when set, else str_ (adopted, or empty).
  // In string mode str_.size() == off_ + size_ always (Narrow truncates it; Append appends).
  std::unique_ptr<char[]> raw_;
  size_t raw_capacity_ = 0;
  std::string str_;
  size_t off_ = 0;  // where the contents start in the allocation
  size_t size_ = 0;
};

// For test failure messages: the size and the first bytes.
std::ostream& operator<<(std::ostream& os, const BlockBuffer& b);

}  // namespace strata
