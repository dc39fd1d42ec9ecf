// The staging log (cache/staging_tier.h, docs/format/staging.md version 2) on an in-memory disk
// in front of the real store tier over mem://: concurrent small writes share one fdatasync
// (group commit), each writer is told its own result (a failed append fails that writer
// alone), a failed fdatasync fails its group and the log moves to a new segment, segments are
// rotated and deleted once nothing in them is staged, and a restart finds every acknowledged
// record (an unfinished tail ignored), uploads the committed ones and drops the others.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cache/staging_format.h"
#include "cache/staging_tier.h"
#include "chunk/staging_drain.h"
#include "chunk/staging_recovery.h"
#include "chunk/store_tier.h"
#include "chunk/test_volume.h"
#include "common/faulty_env.h"
#include "common/mem_env.h"

namespace strata::chunk {
namespace {

using cache::StagingOptions;
using cache::StagingTier;
using testing::RandomBytes;
using testing::TestVolume;

// An Env whose files' Sync (fdatasync) under `prefix` waits while the gate is closed, so that
// a test can hold a group commit's leader inside its fdatasync while other writers queue.
class GatedEnv final : public Env {
 public:
  GatedEnv(Env* target, std::string prefix) : target_(target), prefix_(std::move(prefix)) {}
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& p) override {
    return target_->NewRandomAccessFile(p);
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p,
                                                        OpenMode mode) override {
    ASSIGN_OR_RETURN(auto f, target_->NewWritableFile(p, mode));
    if (p.rfind(prefix_, 0) != 0) return f;
    return std::unique_ptr<WritableFile>(new GatedFile(this, std::move(f)));
  }
  Status Rename(const std::string& a, const std::string& b, bool no_replace) override {
    return target_->Rename(a, b, no_replace);
  }
  Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  Status RemoveDir(const std::string& p) override { return target_->RemoveDir(p); }
  Status CreateDirs(const std::string& p) override { return target_->CreateDirs(p); }
  Status CreateDir(const std::string& p) override { return target_->CreateDir(p); }
  Result<std::vector<DirEntry>> ListDir(const std::string& p) override {
    return target_->ListDir(p);
  }
  Result<FileInfo> Stat(const std::string& p) override { return target_->Stat(p); }
  Status SyncDir(const std::string& p) override { return target_->SyncDir(p); }
  Status SyncFile(const std::string& p) override { return target_->SyncFile(p); }
  Result<SpaceInfo> GetSpace(const std::string& p) override { return target_->GetSpace(p); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p, LockType type,
                                             bool wait) override {
    return target_->LockFile(p, type, wait);
  }

 private:
  class GatedFile final : public WritableFile {
   public:
    GatedFile(GatedEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Append(std::string_view data) override { return f_->Append(data); }
    Status Sync() override {
      std::unique_lock lock(env_->mu_);
      env_->waiting_++;
      env_->cv_.wait(lock, [&] { return !env_->closed_; });
      env_->waiting_--;
      lock.unlock();
      return f_->Sync();
    }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    GatedEnv* const env_;
    std::unique_ptr<WritableFile> f_;
  };

  Env* const target_;
  const std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  int waiting_ = 0;
};

// Polls (real time, bounded) until `done` holds.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 5000; i++) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

class StagingLogTest : public ::testing::Test {
 protected:
  StagingLogTest() : home_(vol_.faulty_shared(), Compression::kNone) {}

  StagingOptions Options(Env* env) {
    StagingOptions o;
    o.dir = "/stage";
    o.volume_uuid = "uuid-1";
    o.env = env;
    o.clock = &clock_;
    o.uploaders = 4;
    return o;  // log_max: the default (1 MiB), so every block here goes to the log
  }
  std::unique_ptr<StagingTier> Open(const StagingOptions& o) {
    auto t = StagingTier::Open(o, &home_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }
  static std::string Key(uint64_t id, uint32_t len) { return BlockKey("vol/", id, 0, len); }
  bool InStore(const std::string& key) { return vol_.mem()->Head(key).ok(); }
  size_t Files(const std::string& dir) { return env_.ListDir(dir)->size(); }

  TestVolume vol_;
  MemEnv env_;
  FakeClock clock_;
  StoreTier home_;
};

// 16 writers at once: the first leads a group alone and is held inside its fdatasync while
// the 15 others queue behind it; they are then appended by one leader. One append of that
// group fails (the disk refuses it) and the store is down: that writer alone gets an error
// (its block went neither to the log nor to the store), the 14 others of its group are
// durable with two fdatasyncs (before the failure, then in a new segment), and a restart finds
// exactly the 15 acknowledged blocks, each with its bytes.
TEST_F(StagingLogTest, ConcurrentWritersShareAnFdatasyncAndHearOnlyTheirOwnFailure) {
  GatedEnv gated(&env_, "/stage/log");
  FaultyEnv faulty(&gated);
  auto o = Options(&faulty);
  o.upload_delay = std::chrono::hours(1);  // nothing leaves the log in this test
  auto t = Open(o);
  vol_.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut), .code = Code::kIOError});
  constexpr int kWriters = 16;
  std::vector<std::string> keys, data;
  for (int i = 0; i < kWriters; i++) {
    keys.push_back(Key(100 + i, 4096));
    data.push_back(RandomBytes(4096, 100 + i));
  }
  std::vector<Status> results(kWriters);
  auto write = [&](int i) { results[i] = t->Write(keys[i], data[i], false, {7, 0}); };
  gated.Close();
  std::thread first(write, 0);
  ASSERT_TRUE(Eventually([&] { return gated.waiting() == 1; }));  // the leader, in fdatasync
  // The rule counts appends from now on: the 8th record of the next group fails.
  faulty.AddRule({.op = FaultOp::kWrite, .path_prefix = "/stage/log", .error = EIO,
                  .every_nth = 8, .max_faults = 1});
  std::vector<std::thread> others;
  for (int i = 1; i < kWriters; i++) others.emplace_back(write, i);
  ASSERT_TRUE(Eventually([&] { return t->stats().log_queued == kWriters - 1; }));
  EXPECT_EQ(t->stats().log_groups, 0u);
  gated.Open();
  first.join();
  for (auto& th : others) th.join();
  int failed = -1;
  for (int i = 0; i < kWriters; i++) {
    if (results[i].ok()) continue;
    EXPECT_EQ(failed, -1) << "a second writer failed: " << results[i].ToString();
    failed = i;
  }
  ASSERT_NE(failed, -1);
  EXPECT_FALSE(t->Contains(keys[failed]));
  EXPECT_FALSE(InStore(keys[failed]));
  const auto s = t->stats();
  EXPECT_EQ(s.log_records, 15u);
  EXPECT_EQ(s.log_groups, 3u);  // writer 0; 7 records of the group; its other 7, elsewhere
  EXPECT_EQ(s.blocks, 15u);
  EXPECT_EQ(s.fallbacks, 1u);
  EXPECT_EQ(s.log_segments, 2u);
  for (int i = 0; i < kWriters; i++) {
    if (i == failed) continue;
    auto got = t->Get(keys[i], 4096);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(**got, data[i]);
  }
  t.reset();  // "killed": nothing was uploaded
  faulty.ClearRules();
  t = Open(Options(&env_));
  auto left = t->Leftovers();
  EXPECT_EQ(left.size(), 15u);
  for (int i = 0; i < kWriters; i++) {
    EXPECT_EQ(t->Contains(keys[i]), i != failed) << i;
    if (i == failed) continue;
    auto got = t->Get(keys[i], 4096);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(**got, data[i]);
  }
}

// A failed fdatasync fails every writer of its group (they go direct to the store) and the
// log moves on to a new segment; what was acknowledged before stays staged.
TEST_F(StagingLogTest, FailedFdatasyncFailsItsGroupAndTheLogMovesOn) {
  FaultyEnv faulty(&env_);
  auto o = Options(&faulty);
  o.upload_delay = std::chrono::hours(1);
  auto t = Open(o);
  const std::string a = Key(1, 3000), b = Key(2, 3000), c = Key(3, 3000);
  ASSERT_TRUE(t->Write(a, RandomBytes(3000, 1), false, {}).ok());
  faulty.AddRule({.op = FaultOp::kSync, .path_prefix = "/stage/log", .error = EIO,
                  .max_faults = 1});
  ASSERT_TRUE(t->Write(b, RandomBytes(3000, 2), false, {}).ok());  // direct
  EXPECT_TRUE(InStore(b));
  EXPECT_FALSE(t->Contains(b));
  ASSERT_TRUE(t->Write(c, RandomBytes(3000, 3), false, {}).ok());  // a new segment
  EXPECT_TRUE(t->Contains(a));
  EXPECT_TRUE(t->Contains(c));
  EXPECT_FALSE(InStore(c));
  EXPECT_EQ(t->stats().fallbacks, 1u);
  EXPECT_EQ(t->stats().log_segments, 2u);
  EXPECT_EQ(Files("/stage/log"), 2u);
}

// Segments are rotated by size and each is deleted when its last record is uploaded, except
// the one appended to, which goes at exit. Reads of an uploaded block miss (the store has it).
TEST_F(StagingLogTest, SegmentsRotateAndGoOnceNothingInThemIsStaged) {
  auto o = Options(&env_);
  o.log_segment = 64 << 10;
  o.memory = 0;  // uploads read their records back from the segments
  o.upload_delay = std::chrono::seconds(10);
  auto t = Open(o);
  std::vector<std::string> keys;
  for (int i = 0; i < 40; i++) {
    keys.push_back(Key(10 + i, 4000));
    ASSERT_TRUE(t->Write(keys.back(), RandomBytes(4000, 10 + i), false, {}).ok());
  }
  EXPECT_EQ(t->stats().log_records, 40u);
  EXPECT_EQ(t->stats().log_groups, 40u);  // one writer: nothing to share
  EXPECT_GE(Files("/stage/log"), 3u);
  EXPECT_EQ(Files("/stage/blocks"), 0u);
  ASSERT_TRUE(t->Remove(keys[0]).ok());
  DrainStaging(*t, clock_);
  EXPECT_EQ(Files("/stage/log"), 1u);  // the one appended to
  EXPECT_EQ(t->stats().log_segments, 1u);
  EXPECT_EQ(t->stats().rereads, 39u);
  EXPECT_FALSE(InStore(keys[0]));
  for (int i = 1; i < 40; i++) {
    auto body = home_.Get(keys[i], 4000);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ(**body, RandomBytes(4000, 10 + i));
    EXPECT_TRUE(t->Get(keys[i], 4000).status().Is(Code::kNotFound));
  }
  // Staging again appends to it; at exit, a segment with a record staged stays.
  const uint64_t groups = t->stats().log_groups;
  ASSERT_TRUE(t->Write(Key(99, 1), "x", false, {}).ok());
  EXPECT_EQ(t->stats().log_groups, groups + 1);
  EXPECT_EQ(Files("/stage/log"), 1u);
  t.reset();
  EXPECT_EQ(Files("/stage/log"), 1u);
  t = Open(o);
  EXPECT_GE(t->Leftovers().size(), 1u);  // "x", and uploaded records found again
  for (const auto& b : t->Leftovers()) ASSERT_TRUE(t->Discard(b.key).ok());
  t.reset();
  EXPECT_EQ(Files("/stage/log"), 0u);  // nothing staged in it: gone
}

// Bounded space: the bytes of records uploaded or removed stay on disk as long as their
// segment does (it is the one appended to, or holds other staged records), and count against
// --writeback-limit. A writer short of room first drops the segment appended to when nothing
// in it is staged (a small disk filled by the log's dead bytes made the mount test
// test_full_staging_disk_goes_direct_and_loses_nothing fall back to direct uploads); dead
// bytes pinned by a staged record make a writer wait like staged ones, and one that cannot
// wait is not acknowledged unless the block is durable in the store.
TEST_F(StagingLogTest, DeadLogBytesCountAgainstTheLimitAndAnIdleSegmentMakesRoom) {
  auto o = Options(&env_);
  o.limit = 1 << 20;
  o.space_wait = std::chrono::milliseconds(0);  // no room at once: direct, never a wait
  auto t = Open(o);
  const uint32_t n = 400000;
  ASSERT_TRUE(t->Write(Key(1, n), RandomBytes(n, 1), false, {}).ok());
  DrainStaging(*t, clock_);
  ASSERT_TRUE(t->Write(Key(2, n), RandomBytes(n, 2), false, {}).ok());  // 0.8 MB: fits
  DrainStaging(*t, clock_);
  EXPECT_EQ(t->stats().log_segments, 1u);  // kept for the next append: 800 KB of dead records
  EXPECT_GE(t->stats().log_bytes, 2u * n);
  const auto before = env_.ListDir("/stage/log");
  ASSERT_TRUE(before.ok() && before->size() == 1u);
  // 0.8 MB dead + 0.4 MB > 1 MiB: the idle segment goes, the block is staged in a new one.
  ASSERT_TRUE(t->Write(Key(3, n), RandomBytes(n, 3), false, {}).ok());
  auto after = env_.ListDir("/stage/log");
  ASSERT_TRUE(after.ok() && after->size() == 1u);
  EXPECT_NE((*after)[0].name, (*before)[0].name);
  EXPECT_LT(t->stats().log_bytes, uint64_t{n} + 1000);
  EXPECT_EQ(t->stats().fallbacks, 0u);
  EXPECT_EQ(t->stats().waits, 0u);
  DrainStaging(*t, clock_);
  // Store down: d is staged behind c's dead bytes (0.4 + 0.3 MB); e (0.4 MB) does not fit
  // beside them — staged bytes alone (0.7 MB) would — and d pins the segment, so e goes
  // direct and, the store being down, is not acknowledged.
  vol_.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut), .code = Code::kIOError});
  ASSERT_TRUE(t->Write(Key(4, 300000), RandomBytes(300000, 4), false, {}).ok());
  EXPECT_FALSE(t->Write(Key(5, n), RandomBytes(n, 5), false, {}).ok());
  EXPECT_EQ(t->stats().fallbacks, 1u);
  EXPECT_EQ(t->stats().blocks, 1u);
  vol_.faulty()->ClearRules();
  DrainStaging(*t, clock_);
  EXPECT_TRUE(InStore(Key(4, 300000)));
  EXPECT_FALSE(InStore(Key(5, n)));
  t.reset();
  EXPECT_EQ(Files("/stage/log"), 0u);  // nothing staged: the last segment goes at exit
}

// A process killed in the middle of an append leaves a record cut short at the end of its
// segment: never acknowledged, ignored. Every whole record is a leftover: the committed one is
// uploaded, the one whose slice was never committed is dropped, and its segment goes with
// the last of them.
TEST_F(StagingLogTest, RestartIgnoresAnUnfinishedAppendAndSortsOutTheRecords) {
  const meta::Ino ino = vol_.NewFile("f");
  auto committed = vol_.meta()->NewSliceId();
  auto lost = vol_.meta()->NewSliceId();
  ASSERT_TRUE(committed.ok() && lost.ok());
  const std::string a = Key(*committed, 3000), b = Key(*lost, 3000);
  const std::string data = RandomBytes(3000, 9);
  auto o = Options(&env_);
  o.upload_delay = std::chrono::hours(1);
  {
    auto t = Open(o);
    ASSERT_TRUE(t->Write(a, data, false, {ino, 0}).ok());
    ASSERT_TRUE(t->Write(b, RandomBytes(3000, 10), false, {ino, 0}).ok());
  }
  ASSERT_TRUE(vol_.meta()->WriteSlice(ino, 0, {0, *committed, 3000, 0, 3000}, {1, 0}).ok());
  auto names = *env_.ListDir("/stage/log");
  ASSERT_EQ(names.size(), 1u);
  const std::string seg = "/stage/log/" + names[0].name;
  std::string raw = *env_.ReadFile(seg);
  const std::string torn = cache::EncodeStagedBlock(Key(*lost + 1, 500), {ino, 0},
                                                    RandomBytes(500, 11));
  ASSERT_TRUE(env_.WriteFileAtomic(seg, raw + torn.substr(0, 300)).ok());
  auto t = Open(Options(&env_));
  auto left = t->Leftovers();
  ASSERT_EQ(left.size(), 2u);
  auto served = t->Get(a, 3000);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_EQ(**served, data);
  auto r = RecoverStaging(vol_.meta(), t.get(), "vol/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->adopted, 1u);
  EXPECT_EQ(r->discarded, 1u);
  DrainStaging(*t, clock_);
  EXPECT_TRUE(InStore(a));
  EXPECT_FALSE(InStore(b));
  EXPECT_EQ(Files("/stage/log"), 0u);
  auto body = home_.Get(a, 3000);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(**body, data);
}

// A version-1 directory (block files only) is taken over: its blocks are leftovers as before,
// VERSION says 2 afterwards (older binaries, which know no log, then refuse the directory),
// and an unknown version is refused.
TEST_F(StagingLogTest, VersionOneDirectoryIsTakenOverAndUnknownVersionsRefused) {
  ASSERT_TRUE(env_.CreateDirs("/stage/blocks").ok());
  ASSERT_TRUE(env_.WriteFileAtomic("/stage/VERSION", "strata-staging 1\nvolume uuid-1\n").ok());
  const std::string key = Key(5, 3);
  ASSERT_TRUE(env_.WriteFileAtomic("/stage/blocks/" + cache::StagedName(key),
                                   cache::EncodeStagedBlock(key, {1, 0}, "abc"))
                  .ok());
  {
    auto t = Open(Options(&env_));
    ASSERT_EQ(t->Leftovers().size(), 1u);
    EXPECT_EQ(**t->Get(key, 3), "abc");
  }
  EXPECT_EQ(*env_.ReadFile("/stage/VERSION"), "strata-staging 2\nvolume uuid-1\n");
  ASSERT_TRUE(env_.WriteFileAtomic("/stage/VERSION", "strata-staging 3\nvolume uuid-1\n").ok());
  auto t = StagingTier::Open(Options(&env_), &home_);
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("unknown format"), std::string_view::npos);
}

TEST(StagingLogFormat, SegmentsParseUpToTheFirstBadRecord) {
  const std::string r1 = cache::EncodeStagedBlock("vol/chunks/0/0/5_0_3", {42, 7}, "abc");
  const std::string r2 = cache::EncodeStagedBlock("vol/chunks/0/0/6_0_2", {43, 0}, "de");
  const std::string seg = cache::LogSegmentHeader(9) + r1 + r2;
  std::string tail;
  auto recs = cache::ParseLogSegment(seg, &tail);
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ(tail, "");
  EXPECT_EQ((*recs)[0].key, "vol/chunks/0/0/5_0_3");
  EXPECT_EQ((*recs)[0].origin.ino, 42u);
  EXPECT_EQ((*recs)[0].offset, cache::kLogSegmentHeaderSize);
  EXPECT_EQ((*recs)[1].offset, cache::kLogSegmentHeaderSize + r1.size());
  EXPECT_EQ((*recs)[1].data_len, 2u);
  EXPECT_EQ(seg.substr((*recs)[1].offset, (*recs)[1].length), r2);
  std::string bad = seg;
  bad[bad.size() - 5] ^= 1;  // r2's data
  recs = cache::ParseLogSegment(bad, &tail);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->size(), 1u);
  EXPECT_NE(tail, "");
  recs = cache::ParseLogSegment(seg.substr(0, seg.size() - 1), &tail);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->size(), 1u);
  EXPECT_FALSE(cache::ParseLogSegment("not a segment at all", &tail).ok());
  EXPECT_EQ(cache::LogSegmentName(12), "00000000000000000012.log");
  EXPECT_EQ(cache::LogSegmentSeq("00000000000000000012.log"), 12u);
  EXPECT_EQ(cache::LogSegmentSeq("12.log"), 0u);
}

}  // namespace
}  // namespace strata::chunk
