#include "chunk/block_key.h"

#include <charconv>

#include "fmt/format.h"

namespace strata::chunk {

std::string BlockKey(std::string_view prefix, uint64_t slice_id, uint32_t index, uint32_t len) {
  return fmt::format("{}chunks/{}/{}/{}_{}_{}", prefix, slice_id / 1000000, slice_id / 1000,
                     slice_id, index, len);
}

std::string ChunksPrefix(std::string_view prefix) { return fmt::format("{}chunks/", prefix); }

namespace {

// Parses a decimal number that is all of `s` (no sign, no leading garbage).
template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty() || s.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Splits off the part of `s` before `sep`; false when there is no `sep`.
bool Take(std::string_view* s, char sep, std::string_view* part) {
  size_t i = s->find(sep);
  if (i == std::string_view::npos) return false;
  *part = s->substr(0, i);
  s->remove_prefix(i + 1);
  return true;
}

}  // namespace

Result<BlockKeyParts> ParseBlockKey(std::string_view prefix, std::string_view key) {
  auto bad = [&] { return Status::InvalidArgument(fmt::format("not a block key: {}", key)); };
  std::string chunks = ChunksPrefix(prefix);
  if (key.substr(0, chunks.size()) != chunks) return bad();
  std::string_view rest = key.substr(chunks.size());
  std::string_view d1, d2, id, index;
  uint64_t dir1 = 0, dir2 = 0;
  BlockKeyParts p;
  if (!Take(&rest, '/', &d1) || !Take(&rest, '/', &d2) || !Take(&rest, '_', &id) ||
      !Take(&rest, '_', &index)) {
    return bad();
  }
  if (!ParseNumber(d1, &dir1) || !ParseNumber(d2, &dir2) || !ParseNumber(id, &p.slice_id) ||
      !ParseNumber(index, &p.index) || !ParseNumber(rest, &p.len)) {
    return bad();
  }
  if (dir1 != p.slice_id / 1000000 || dir2 != p.slice_id / 1000) return bad();
  if (BlockKey(prefix, p.slice_id, p.index, p.len) != key) return bad();  // e.g. leading zeros
  return p;
}

uint32_t NumBlocks(uint64_t slice_size, uint32_t block_size) {
  return static_cast<uint32_t>((slice_size + block_size - 1) / block_size);
}

uint32_t BlockLen(uint64_t slice_size, uint32_t block_size, uint32_t index) {
  uint64_t start = static_cast<uint64_t>(index) * block_size;
  uint64_t left = slice_size - start;
  return static_cast<uint32_t>(left < block_size ? left : block_size);
}

std::vector<std::string> SliceBlockKeys(std::string_view prefix, uint64_t slice_id,
                                        uint64_t slice_size, uint32_t block_size) {
  std::vector<std::string> keys;
  uint32_t n = NumBlocks(slice_size, block_size);
  keys.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    keys.push_back(BlockKey(prefix, slice_id, i, BlockLen(slice_size, block_size, i)));
  }
  return keys;
}

}  // namespace strata::chunk
