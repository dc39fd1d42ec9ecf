// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the checksum kept with
// every stored block and every disk-cache file (DESIGN.md §4, §7).
//
// Written here rather than taken from a library: Debian 12 ships no C/C++ CRC32C package
// (google/crc32c is not packaged; zlib's crc32 is a different polynomial), and the job is
// ~100 lines. Two paths give identical results: the SSE4.2 `crc32` instruction, chosen at run
// time with __builtin_cpu_supports("sse4.2"), and a portable slicing-by-8 table for other
// CPUs. Crc32cHardwareAvailable() says which one Crc32cExtend() uses. The hardware path runs
// inputs of 12 KiB and more as three interleaved streams joined at the end (~3x one stream:
// the checksum of a 4 MiB block was the top of the read profiles, bench/RESULTS.md issue 14).
//
// Thread-safety: pure functions; safe from any thread.
// Errors: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata {

// Returns the CRC32C of A+data, where `crc` is the CRC32C of some earlier bytes A (0 for none).
// So Crc32cExtend(Crc32cExtend(0, a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32cExtend(uint32_t crc, std::string_view data) {
  return Crc32cExtend(crc, data.data(), data.size());
}
// The CRC32C of `data`. Crc32c("123456789") == 0xE3069283.
inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data); }

// True when this CPU has SSE4.2 and Crc32cExtend uses the hardware path.
bool Crc32cHardwareAvailable();

// The two paths, exposed so that tests can compare them. Same contract as Crc32cExtend.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);
// REQUIRES: Crc32cHardwareAvailable().
uint32_t Crc32cExtendHardware(uint32_t crc, const void* data, size_t n);

}  // namespace strata
