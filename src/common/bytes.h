// Big-endian fixed-width integer encoding for keys and records. Big-endian so that encoded
// integers sort by unsigned byte comparison in the same order as their values (metadata keys,
// slice records in DESIGN.md §4).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace strata {

inline void PutU8(std::string* dst, uint8_t v) { dst->push_back(static_cast<char>(v)); }
inline void PutU16BE(std::string* dst, uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  dst->append(b, 2);
}
inline void PutU32BE(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; i++) b[i] = static_cast<char>(v >> (24 - 8 * i));
  dst->append(b, 4);
}
inline void PutU64BE(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; i++) b[i] = static_cast<char>(v >> (56 - 8 * i));
  dst->append(b, 8);
}
// REQUIRES: p points to at least 2/4/8 readable bytes.
inline uint16_t GetU16BE(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}
inline uint32_t GetU32BE(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = (v << 8) | u[i];
  return v;
}
inline uint64_t GetU64BE(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | u[i];
  return v;
}

// A cursor over an encoded record; each Read* returns false (and reads nothing) when too few
// bytes remain, so decoders can report corruption instead of reading past the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}
  bool ReadU8(uint8_t* v) {
    if (data_.size() < 1) return false;
    *v = static_cast<uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool ReadU16(uint16_t* v) { return Read(v, 2, GetU16BE); }
  bool ReadU32(uint32_t* v) { return Read(v, 4, GetU32BE); }
  bool ReadU64(uint64_t* v) { return Read(v, 8, GetU64BE); }
  bool ReadBytes(size_t n, std::string_view* out) {
    if (data_.size() < n) return false;
    *out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  std::string_view remaining() const { return data_; }
  bool empty() const { return data_.empty(); }

 private:
  template <typename T, typename F>
  bool Read(T* v, size_t n, F get) {
    if (data_.size() < n) return false;
    *v = get(data_.data());
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
};

}  // namespace strata
