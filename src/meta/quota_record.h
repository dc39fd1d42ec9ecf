// The directory quota record Q{ino} and the quota epoch counter (docs/format/meta-schema.md
// "Quotas", record version 1), shared by the enforcement (quota_kv.h) and administration
// (quota.h) code.
//
// Q{ino}: five 8-byte big-endian signed fields, 40 bytes:
//   version (1) | max bytes | max inodes | used bytes | used inodes
// Limits 0 mean "no limit on that quantity". The used fields are the usage of the whole
// subtree (the sum of U{d} over every directory d in it, the quota directory included); every
// operation adds its change to them blind (kv Increment with deltas {0, 0, 0, bytes, inodes}),
// so they need no read and are exact after any crash. Because Increment treats a value of
// another length as zeros, the record's length never changes within a version.
//
// C{quotaEpoch}: u64, bumped by every change to which directories a quota covers (quota set
// and delete, a directory renamed across a quota boundary). Each transaction that charges
// usage reads it, so a client's cached map of "directory -> quotas over it" is valid exactly
// while the epoch is unchanged (a concurrent bump conflicts with the charge, which retries).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "meta/schema.h"
#include "meta/types.h"

namespace strata::meta::quota {

inline constexpr int64_t kRecordVersion = 1;
inline constexpr size_t kRecordSize = 40;
inline constexpr char kEpochCounter[] = "quotaEpoch";

struct Record {
  uint64_t max_bytes = 0;   // 0: unlimited
  uint64_t max_inodes = 0;  // 0: unlimited
  int64_t used_bytes = 0;
  int64_t used_inodes = 0;
};

inline std::string EpochKey() { return schema::CounterKey(kEpochCounter); }

inline std::string EncodeRecord(const Record& r) {
  return schema::EncodeI64(kRecordVersion) + schema::EncodeI64(static_cast<int64_t>(r.max_bytes)) +
         schema::EncodeI64(static_cast<int64_t>(r.max_inodes)) + schema::EncodeI64(r.used_bytes) +
         schema::EncodeI64(r.used_inodes);
}

// nullopt for a value that is not a version-1 record.
inline std::optional<Record> DecodeRecord(std::string_view v) {
  if (v.size() != kRecordSize || schema::DecodeI64(v.substr(0, 8)) != kRecordVersion) {
    return std::nullopt;
  }
  Record r;
  r.max_bytes = static_cast<uint64_t>(schema::DecodeI64(v.substr(8, 8)));
  r.max_inodes = static_cast<uint64_t>(schema::DecodeI64(v.substr(16, 8)));
  r.used_bytes = schema::DecodeI64(v.substr(24, 8));
  r.used_inodes = schema::DecodeI64(v.substr(32, 8));
  return r;
}

// The deltas of an Increment that charges (bytes, inodes) to a record.
inline std::vector<int64_t> ChargeDeltas(int64_t bytes, int64_t inodes) {
  return {0, 0, 0, bytes, inodes};
}

inline uint64_t DecodeEpoch(const std::optional<std::string>& raw) {
  return raw && raw->size() == 8 ? static_cast<uint64_t>(schema::DecodeI64(*raw)) : 0;
}

}  // namespace strata::meta::quota
