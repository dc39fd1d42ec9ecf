// Lock record codecs and range arithmetic (lock_records.h).
#include "meta/lock_records.h"

#include <algorithm>

#include "common/bytes.h"

namespace strata::meta {

namespace {

bool ValidLockType(uint8_t t) { return t == 1 || t == 2; }

bool Overlaps(uint64_t a_start, uint64_t a_end, uint64_t b_start, uint64_t b_end) {
  return a_start <= b_end && b_start <= a_end;
}

bool SameHolder(uint64_t sid, uint64_t owner, uint64_t s2, uint64_t o2) {
  return sid == s2 && owner == o2;
}

}  // namespace

std::string EncodeFlocks(const std::vector<FlockRecord>& records) {
  std::string out;
  out.reserve(records.size() * 17);
  for (const auto& r : records) {
    PutU64BE(&out, r.sid);
    PutU64BE(&out, r.owner);
    PutU8(&out, static_cast<uint8_t>(r.type));
  }
  return out;
}

Result<std::vector<FlockRecord>> DecodeFlocks(std::string_view data) {
  if (data.size() % 17 != 0) return Status::Corruption("flock record list of bad length");
  std::vector<FlockRecord> out;
  ByteReader r(data);
  while (!r.empty()) {
    FlockRecord rec;
    uint8_t t = 0;
    if (!r.ReadU64(&rec.sid) || !r.ReadU64(&rec.owner) || !r.ReadU8(&t) || !ValidLockType(t)) {
      return Status::Corruption("undecodable flock record");
    }
    rec.type = static_cast<LockType>(t);
    out.push_back(rec);
  }
  return out;
}

std::string EncodePosixLocks(const std::vector<PosixLockRecord>& records) {
  std::string out;
  out.reserve(records.size() * 37);
  for (const auto& r : records) {
    PutU64BE(&out, r.sid);
    PutU64BE(&out, r.owner);
    PutU8(&out, static_cast<uint8_t>(r.type));
    PutU64BE(&out, r.start);
    PutU64BE(&out, r.end);
    PutU32BE(&out, r.pid);
  }
  return out;
}

Result<std::vector<PosixLockRecord>> DecodePosixLocks(std::string_view data) {
  if (data.size() % 37 != 0) return Status::Corruption("POSIX lock record list of bad length");
  std::vector<PosixLockRecord> out;
  ByteReader r(data);
  while (!r.empty()) {
    PosixLockRecord rec;
    uint8_t t = 0;
    if (!r.ReadU64(&rec.sid) || !r.ReadU64(&rec.owner) || !r.ReadU8(&t) || !ValidLockType(t) ||
        !r.ReadU64(&rec.start) || !r.ReadU64(&rec.end) || !r.ReadU32(&rec.pid) ||
        rec.start > rec.end) {
      return Status::Corruption("undecodable POSIX lock record");
    }
    rec.type = static_cast<LockType>(t);
    out.push_back(rec);
  }
  return out;
}

std::optional<FlockRecord> FindFlockConflict(const std::vector<FlockRecord>& records, uint64_t sid,
                                             uint64_t owner, LockType type) {
  if (type == LockType::kUnlock) return std::nullopt;  // an unlock never waits
  for (const auto& r : records) {
    if (SameHolder(sid, owner, r.sid, r.owner)) continue;
    if (type == LockType::kWrite || r.type == LockType::kWrite) return r;
  }
  return std::nullopt;
}

void ApplyFlock(std::vector<FlockRecord>& records, uint64_t sid, uint64_t owner, LockType type) {
  DropFlocks(records, sid, owner);
  if (type != LockType::kUnlock) records.push_back(FlockRecord{sid, owner, type});
}

std::optional<PosixLockRecord> FindPosixConflict(const std::vector<PosixLockRecord>& records,
                                                 uint64_t sid, uint64_t owner,
                                                 const LockRange& range) {
  if (range.type == LockType::kUnlock) return std::nullopt;
  for (const auto& r : records) {
    if (SameHolder(sid, owner, r.sid, r.owner)) continue;
    if (!Overlaps(r.start, r.end, range.start, range.end)) continue;
    if (range.type == LockType::kWrite || r.type == LockType::kWrite) return r;
  }
  return std::nullopt;
}

void ApplyPosixLock(std::vector<PosixLockRecord>& records, uint64_t sid, uint64_t owner,
                    const LockRange& range) {
  std::vector<PosixLockRecord> others, mine;
  for (const auto& r : records) {
    (SameHolder(sid, owner, r.sid, r.owner) ? mine : others).push_back(r);
  }
  // Cut [start, end] out of the holder's locks, keeping the parts that stick out.
  std::vector<PosixLockRecord> kept;
  for (const auto& r : mine) {
    if (!Overlaps(r.start, r.end, range.start, range.end)) {
      kept.push_back(r);
      continue;
    }
    if (r.start < range.start) {
      PosixLockRecord left = r;
      left.end = range.start - 1;
      kept.push_back(left);
    }
    if (r.end > range.end) {
      PosixLockRecord right = r;
      right.start = range.end + 1;
      kept.push_back(right);
    }
  }
  if (range.type != LockType::kUnlock) {
    kept.push_back(PosixLockRecord{sid, owner, range.type, range.start, range.end, range.pid});
  }
  // Merge the holder's locks of one type that overlap or touch.
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<PosixLockRecord> merged;
  for (const auto& r : kept) {
    if (!merged.empty()) {
      auto& last = merged.back();
      bool touches = last.end == UINT64_MAX || r.start <= last.end + 1;
      if (touches && last.type == r.type) {
        if (r.end > last.end) last.end = r.end;
        last.pid = range.pid ? range.pid : last.pid;
        continue;
      }
    }
    merged.push_back(r);
  }
  records = std::move(others);
  records.insert(records.end(), merged.begin(), merged.end());
}

void DropFlocks(std::vector<FlockRecord>& records, uint64_t sid, std::optional<uint64_t> owner) {
  std::erase_if(
      records, [&](const FlockRecord& r) { return r.sid == sid && (!owner || r.owner == *owner); });
}

void DropPosixLocks(std::vector<PosixLockRecord>& records, uint64_t sid,
                    std::optional<uint64_t> owner) {
  std::erase_if(records, [&](const PosixLockRecord& r) {
    return r.sid == sid && (!owner || r.owner == *owner);
  });
}

}  // namespace strata::meta
