#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace strata {

namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

// kTable[0] is the classic byte-at-a-time table; kTable[k][b] is the CRC of byte b followed
// by k zero bytes, which lets the portable path fold 8 bytes per step (slicing-by-8).
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t c = b;
    for (int i = 0; i < 8; i++) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][b] = c;
  }
  for (int k = 1; k < 8; k++) {
    for (uint32_t b = 0; b < 256; b++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

uint64_t LoadLE64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // x86 and the other targets we build for are little-endian
  return v;
}

bool DetectHardware() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

}  // namespace

uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  uint32_t l = ~crc;
  while (n >= 8) {
    uint64_t v = LoadLE64(p) ^ l;
    l = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) l = (l >> 8) ^ kTables[0][(l ^ *p++) & 0xFF];
  return ~l;
}

// Multiplication of two polynomials modulo the CRC polynomial, in the reflected bit order the
// CRC register uses (bit 31 is x^0).
uint32_t MulModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// x^(2^k) mod P for k = 0..63, for raising x to any power by squares.
using Powers = std::array<uint32_t, 64>;
constexpr Powers MakePowers() {
  Powers t{};
  uint32_t p = 1u << 30;  // x^1
  for (size_t k = 0; k < t.size(); k++) {
    t[k] = p;
    // p = p * p mod P (MulModP, written out: constexpr needs no function call here)
    uint32_t product = 0, b = p;
    for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
      if (p & m) product ^= b;
      b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
    }
    p = product;
  }
  return t;
}
constexpr Powers kPowers = MakePowers();

// x^(8n) mod P: what a CRC register is multiplied by when n zero bytes go through it.
uint32_t ShiftBytes(uint64_t n) {
  uint32_t p = 1u << 31;  // x^0
  for (size_t k = 3; n != 0; n >>= 1, k++) {
    if (n & 1) p = MulModP(kPowers[k % kPowers.size()], p);
  }
  return p;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint64_t HardwareRaw(uint64_t l, const unsigned char* p,
                                                       size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), *p++);
    n--;
  }
  while (n >= 8) {
    l = _mm_crc32_u64(l, LoadLE64(p));
    p += 8;
    n -= 8;
  }
  while (n-- > 0) l = _mm_crc32_u8(static_cast<uint32_t>(l), *p++);
  return l;
}

// The crc32 instruction takes 3 cycles and can start one every cycle: one chain of it runs
// at a third of the CPU's speed. Large inputs are cut into three equal stripes run as three
// independent chains in one loop, and the stripes' registers joined after (the register of
// A+B is that of A shifted over |B| zero bytes, xor that of B alone, started from 0).
constexpr size_t kStripeMin = 4096;  // below this, one chain

__attribute__((target("sse4.2"))) uint32_t Crc32cExtendHardware(uint32_t crc, const void* data,
                                                                size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  uint64_t l = ~crc;
  if (n < 3 * kStripeMin) return ~static_cast<uint32_t>(HardwareRaw(l, p, n));
  // Align the start, so that every stripe's loads are aligned.
  while ((reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), *p++);
    n--;
  }
  const size_t stripe = (n / 3) & ~size_t{7};
  const unsigned char* a = p;
  const unsigned char* b = p + stripe;
  const unsigned char* c = p + 2 * stripe;
  uint64_t la = l, lb = 0, lc = 0;
  for (size_t i = 0; i < stripe; i += 8) {
    la = _mm_crc32_u64(la, LoadLE64(a + i));
    lb = _mm_crc32_u64(lb, LoadLE64(b + i));
    lc = _mm_crc32_u64(lc, LoadLE64(c + i));
  }
  const uint32_t shift = ShiftBytes(stripe);
  uint32_t joined = MulModP(static_cast<uint32_t>(la), shift) ^ static_cast<uint32_t>(lb);
  joined = MulModP(joined, shift) ^ static_cast<uint32_t>(lc);
  const size_t done = 3 * stripe;
  return ~static_cast<uint32_t>(HardwareRaw(joined, p + done, n - done));
}
#else
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n) {
  return Crc32cExtendPortable(crc, data, n);
}
#endif

bool Crc32cHardwareAvailable() {
  static const bool kAvailable = DetectHardware();  // immutable after first use
  return kAvailable;
}

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
  return Crc32cHardwareAvailable() ? Crc32cExtendHardware(crc, data, n)
                                   : Crc32cExtendPortable(crc, data, n);
}

}  // namespace strata
