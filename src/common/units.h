// Units: byte sizes and counts as people type and read them, one implementation for every
// flag (--writeback-limit, --capacity, objbench sizes) and every summary line or progress bar.
//
//   ParseSize("4096") = 4096, "4K" = "4KiB" = "4k" = 4096, "1.5G" = 1.5 GiB, "2T", "100M".
//   Binary units only (K = 1024); a trailing "B" or "iB" is accepted. Fractions are allowed
//   with a unit ("1.5G") and rounded down to a whole byte.
//   FormatBytes(1536) = "1.5 KiB", FormatBytes(512) = "512 B", FormatBytes(5<<30) = "5.0 GiB".
//   FormatCount(1234567) = "1,234,567".
//   FormatDuration(seconds) = "950 ms", "12 s", "3m05s", "2h01m".
//
// Thread-safety: pure functions. Errors: ParseSize returns kInvalidArgument naming the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata {

Result<uint64_t> ParseSize(std::string_view text);
std::string FormatBytes(uint64_t bytes);
std::string FormatCount(uint64_t n);
std::string FormatDuration(double seconds);

}  // namespace strata
