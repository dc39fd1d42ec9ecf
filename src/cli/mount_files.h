// Helpers of the tools that watch a running mount through its virtual files (stats.cc,
// profile.cc; vfs/virtual_files.h): finding them, reading them whole, short numbers for
// narrow columns.
#pragma once

#include <string>

#include "common/status.h"

namespace strata::cli {

// MOUNTPOINT/NAME when MOUNTPOINT is a directory holding that virtual file; else
// kInvalidArgument "X is not a StrataFS mount point (no NAME)" or the stat error.
Result<std::string> MountFilePath(const std::string& mount_point, const std::string& name);
// The whole file (one open, reads to EOF).
Result<std::string> ReadMountFile(const std::string& path);
// At most 5 characters: "0", "12", "999", "1.2K", "35M", "1.1G" (bytes: binary, else decimal
// steps); values below 10 keep one decimal ("0.5") when fractional.
std::string ShortNumber(double v, bool bytes);

}  // namespace strata::cli
