// Lock records of one inode as stored under F{ino} (flock) and P{ino} (POSIX record locks),
// and the pure rules applied to them: conflicts between holders, and the range arithmetic of
// fcntl (a new lock replaces the owner's own locks over its range, unlock of a sub-range splits
// a lock, adjacent or overlapping ranges of one owner and type merge).
//
// A holder is (sid, owner): the session of the client and the kernel's lock owner, so that
// the same owner number from two mounts never collides.
//
// Encodings (big-endian, concatenated records; docs/format/meta-schema.md):
//   F{ino}: sid u64 | owner u64 | type u8                                    (17 bytes each)
//   P{ino}: sid u64 | owner u64 | type u8 | start u64 | end u64 | pid u32   (37 bytes each)
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/types.h"

namespace strata::meta {

struct FlockRecord {
  uint64_t sid = 0;
  uint64_t owner = 0;
  LockType type = LockType::kRead;
  bool operator==(const FlockRecord&) const = default;
};

struct PosixLockRecord {
  uint64_t sid = 0;
  uint64_t owner = 0;
  LockType type = LockType::kRead;
  uint64_t start = 0;
  uint64_t end = UINT64_MAX;  // inclusive
  uint32_t pid = 0;
  bool operator==(const PosixLockRecord&) const = default;
};

std::string EncodeFlocks(const std::vector<FlockRecord>& records);
Result<std::vector<FlockRecord>> DecodeFlocks(std::string_view data);
std::string EncodePosixLocks(const std::vector<PosixLockRecord>& records);
Result<std::vector<PosixLockRecord>> DecodePosixLocks(std::string_view data);

// flock: the first record of another holder that forbids `type` (kRead/kWrite), if any.
std::optional<FlockRecord> FindFlockConflict(const std::vector<FlockRecord>& records, uint64_t sid,
                                             uint64_t owner, LockType type);
// flock: sets (type kRead/kWrite, replacing any lock the holder had) or removes (kUnlock) the
// holder's lock. REQUIRES for a lock: no conflict.
void ApplyFlock(std::vector<FlockRecord>& records, uint64_t sid, uint64_t owner, LockType type);

// fcntl: the first lock of another holder overlapping `range` whose type conflicts with
// range.type (two read locks never conflict).
std::optional<PosixLockRecord> FindPosixConflict(const std::vector<PosixLockRecord>& records,
                                                 uint64_t sid, uint64_t owner,
                                                 const LockRange& range);
// fcntl F_SETLK: the holder's locks over [range.start, range.end] become range.type (or are
// removed for kUnlock), splitting locks that stick out, then merging the holder's touching
// locks of equal type. Other holders' records are untouched. REQUIRES for a lock: no conflict.
void ApplyPosixLock(std::vector<PosixLockRecord>& records, uint64_t sid, uint64_t owner,
                    const LockRange& range);

// Removes every record of the holder (owner == nullopt: of the whole session).
void DropFlocks(std::vector<FlockRecord>& records, uint64_t sid, std::optional<uint64_t> owner);
void DropPosixLocks(std::vector<PosixLockRecord>& records, uint64_t sid,
                    std::optional<uint64_t> owner);

}  // namespace strata::meta
