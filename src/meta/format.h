// VolumeFormat: the volume's settings record (`setting` key), JSON-encoded (DESIGN.md §3).
// Written by `strata format`, read by every client at start.
//
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace strata::meta {

struct VolumeFormat {
  static constexpr int kCurrentVersion = 1;

  std::string name;                 // volume name; also the object key prefix in the store
  std::string uuid;                 // random, set at format
  std::string storage_url;          // e.g. file:///var/lib/strata/data or s3://bucket
  std::string access_key;           // may be empty (taken from env at mount)
  std::string secret_key;           // never printed; masked by Masked()
  uint32_t block_size = 4 << 20;    // 64 KiB .. 16 MiB, fixed at format
  std::string compression = "none";  // none | lz4 | zstd
  int trash_days = 1;               // 0 disables the trash
  uint64_t capacity_bytes = 0;      // 0 = unlimited
  uint64_t max_inodes = 0;          // 0 = unlimited
  int format_version = kCurrentVersion;

  // kInvalidArgument naming the bad field.
  Status Validate() const;
  std::string ToJson() const;
  // A copy with secrets replaced by "****", as JSON for display.
  std::string MaskedJson() const;
  static Result<VolumeFormat> FromJson(const std::string& json);
};

}  // namespace strata::meta
