#include "meta/lock_records.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace strata::meta {
namespace {

LockRange Range(LockType t, uint64_t start, uint64_t end, uint32_t pid = 7) {
  return LockRange{t, start, end, pid};
}

TEST(FlockRecordsTest, SharedLocksCoexistExclusiveDoesNot) {
  std::vector<FlockRecord> recs;
  ApplyFlock(recs, 1, 10, LockType::kRead);
  EXPECT_FALSE(FindFlockConflict(recs, 2, 10, LockType::kRead));
  ApplyFlock(recs, 2, 10, LockType::kRead);
  auto c = FindFlockConflict(recs, 3, 1, LockType::kWrite);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->sid, 1u);
  // The same owner number in another session is another holder.
  EXPECT_TRUE(FindFlockConflict(recs, 1, 11, LockType::kWrite));
  // Upgrading is refused while another holder reads, allowed when alone.
  EXPECT_TRUE(FindFlockConflict(recs, 1, 10, LockType::kWrite));
  ApplyFlock(recs, 2, 10, LockType::kUnlock);
  EXPECT_FALSE(FindFlockConflict(recs, 1, 10, LockType::kWrite));
  ApplyFlock(recs, 1, 10, LockType::kWrite);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], (FlockRecord{1, 10, LockType::kWrite}));
  auto round = DecodeFlocks(EncodeFlocks(recs));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, recs);
  EXPECT_FALSE(DecodeFlocks("short").ok());
}

TEST(PosixLockRecordsTest, UnlockInTheMiddleSplits) {
  std::vector<PosixLockRecord> recs;
  ApplyPosixLock(recs, 1, 1, Range(LockType::kWrite, 0, 99));
  ApplyPosixLock(recs, 1, 1, Range(LockType::kUnlock, 40, 49));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].start, 0u);
  EXPECT_EQ(recs[0].end, 39u);
  EXPECT_EQ(recs[1].start, 50u);
  EXPECT_EQ(recs[1].end, 99u);
  // The hole is free for another holder, the rest is not.
  EXPECT_FALSE(FindPosixConflict(recs, 2, 1, Range(LockType::kWrite, 40, 49)));
  auto c = FindPosixConflict(recs, 2, 1, Range(LockType::kRead, 45, 55));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->start, 50u);
  EXPECT_EQ(c->pid, 7u);
}

TEST(PosixLockRecordsTest, AdjacentSameTypeMergesDifferentTypeReplaces) {
  std::vector<PosixLockRecord> recs;
  ApplyPosixLock(recs, 1, 1, Range(LockType::kRead, 0, 9));
  ApplyPosixLock(recs, 1, 1, Range(LockType::kRead, 10, 19));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].end, 19u);
  ApplyPosixLock(recs, 1, 1, Range(LockType::kWrite, 5, 14));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].type, LockType::kRead);
  EXPECT_EQ(recs[1].type, LockType::kWrite);
  EXPECT_EQ(recs[1].start, 5u);
  EXPECT_EQ(recs[1].end, 14u);
  EXPECT_EQ(recs[2].start, 15u);
  // To end of file.
  ApplyPosixLock(recs, 1, 1, Range(LockType::kRead, 15, UINT64_MAX));
  EXPECT_EQ(recs.back().end, UINT64_MAX);
  ApplyPosixLock(recs, 1, 1, Range(LockType::kUnlock, 0, UINT64_MAX));
  EXPECT_TRUE(recs.empty());
}

TEST(PosixLockRecordsTest, OtherHoldersAreUntouchedAndDropWorksPerSession) {
  std::vector<PosixLockRecord> recs;
  ApplyPosixLock(recs, 1, 1, Range(LockType::kRead, 0, 9));
  ApplyPosixLock(recs, 2, 1, Range(LockType::kRead, 0, 9));
  ApplyPosixLock(recs, 2, 2, Range(LockType::kRead, 20, 29));
  ApplyPosixLock(recs, 1, 1, Range(LockType::kUnlock, 0, 9));
  ASSERT_EQ(recs.size(), 2u);
  auto round = DecodePosixLocks(EncodePosixLocks(recs));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, recs);
  DropPosixLocks(recs, 2, std::nullopt);
  EXPECT_TRUE(recs.empty());
}

// Random operations of three holders over [0, kSpan) (with "to EOF" ranges) against a per-byte
// model; afterwards each holder's records must paint exactly the model and be maximally merged.
TEST(PosixLockRecordsTest, RandomOperationsMatchByteModel) {
  constexpr uint64_t kSpan = 48;
  std::mt19937_64 rng(42);
  for (int round = 0; round < 400; round++) {
    std::vector<PosixLockRecord> recs;
    std::map<uint64_t, std::vector<LockType>> model;  // holder -> type per byte
    for (uint64_t h = 1; h <= 3; h++) model[h].assign(kSpan + 1, LockType::kUnlock);
    for (int op = 0; op < 30; op++) {
      uint64_t h = 1 + rng() % 3;
      uint64_t start = rng() % kSpan;
      bool to_eof = rng() % 5 == 0;
      uint64_t end = to_eof ? UINT64_MAX : start + rng() % (kSpan - start);
      LockType t = static_cast<LockType>(rng() % 3);
      LockRange r = Range(t, start, end);
      // Model conflict: another holder has an overlapping byte where either side writes.
      bool model_conflict = false;
      if (t != LockType::kUnlock) {
        for (auto& [other, bytes] : model) {
          if (other == h) continue;
          for (uint64_t b = start; b <= std::min(end, kSpan); b++) {
            if (bytes[b] != LockType::kUnlock &&
                (bytes[b] == LockType::kWrite || t == LockType::kWrite)) {
              model_conflict = true;
            }
          }
        }
      }
      bool conflict = FindPosixConflict(recs, h, 0, r).has_value();
      ASSERT_EQ(conflict, model_conflict) << "round " << round << " op " << op;
      if (conflict) continue;
      ApplyPosixLock(recs, h, 0, r);
      for (uint64_t b = start; b <= std::min(end, kSpan); b++) model[h][b] = t;
    }
    for (auto& [h, bytes] : model) {
      std::vector<LockType> painted(kSpan + 1, LockType::kUnlock);
      const PosixLockRecord* prev = nullptr;
      for (const auto& rec : recs) {
        if (rec.sid != h) continue;
        if (prev) {
          ASSERT_GT(rec.start, prev->end) << "overlapping or unsorted records";
          ASSERT_FALSE(rec.start == prev->end + 1 && rec.type == prev->type) << "not merged";
        }
        for (uint64_t b = rec.start; b <= std::min(rec.end, kSpan); b++) painted[b] = rec.type;
        prev = &rec;
      }
      ASSERT_EQ(painted, bytes) << "round " << round << " holder " << h;
    }
  }
}

}  // namespace
}  // namespace strata::meta
