// Writeback staging (cache/staging_tier.h, chunk/staging_recovery.h) on an in-memory disk
// (MemEnv, FaultyEnv for a full disk) in front of the real store tier over mem://, with a
// FakeClock for the upload delay and the back-off: staging is durable and served to reads,
// uploads drain it oldest first (from the body kept in memory within its budget, else from
// the file read back), a delete before the upload keeps the block out of the
// store, a full staging area makes writers wait or go direct, a failing disk goes direct,
// and a restart uploads committed leftovers and removes uncommitted ones.
#include <gtest/gtest.h>

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

class StagingTest : public ::testing::Test {
 protected:
  StagingTest() : home_(vol_.faulty_shared(), Compression::kNone) {}

  StagingOptions Options() {
    StagingOptions o;
    o.dir = "/stage";
    o.volume_uuid = "uuid-1";
    o.env = &env_;
    o.clock = &clock_;
    o.uploaders = 4;
    o.log_max = 0;  // every block a file of its own; the staging log: staging_log_test.cc
    return o;
  }
  std::unique_ptr<StagingTier> Open(const StagingOptions& o) {
    auto t = StagingTier::Open(o, &home_);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }
  static std::string Key(uint64_t id, uint32_t len) { return BlockKey("vol/", id, 0, len); }
  bool InStore(const std::string& key) { return vol_.mem()->Head(key).ok(); }
  bool Staged(const std::string& key) {
    return env_.Stat("/stage/blocks/" + cache::StagedName(key)).ok();
  }
  void Drain(StagingTier& t) { DrainStaging(t, clock_); }

  TestVolume vol_;
  MemEnv env_;
  FakeClock clock_;
  StoreTier home_;
};

TEST_F(StagingTest, StagedBlockIsDurableServedAndUploadedThenRemoved) {
  auto o = Options();
  o.upload_delay = std::chrono::seconds(30);
  auto t = Open(o);
  const std::string data = RandomBytes(100000, 1), key = Key(7, 100000);
  ASSERT_TRUE(t->Write(key, data, false, {5, 0}).ok());
  EXPECT_TRUE(Staged(key));
  EXPECT_EQ(env_.ListDir("/stage/blocks")->size(), 1u);  // no temporary file left behind
  auto got = t->Get(key, 100000);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(**got, data);
  EXPECT_FALSE(InStore(key));  // the delay has not passed
  EXPECT_EQ(t->stats().blocks, 1u);
  EXPECT_EQ(t->stats().bytes, 100000u);
  Drain(*t);
  EXPECT_TRUE(InStore(key));
  EXPECT_FALSE(Staged(key));
  EXPECT_TRUE(t->Get(key, 100000).status().Is(Code::kNotFound));  // the store has it now
  auto body = home_.Get(key, 100000);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(**body, data);
}

// The memory hand-off: a block staged within the memory budget is uploaded from the body
// encoded when it was staged, so the upload reads nothing from the staging disk (reads of it
// fail here) and the store gets the same body a direct write would have stored.
TEST_F(StagingTest, UploadsTheBodyKeptInMemoryWithoutReadingTheFile) {
  FaultyEnv faulty(&env_);
  auto o = Options();
  o.env = &faulty;
  o.memory = 1 << 20;
  o.upload_delay = std::chrono::seconds(30);  // counted before the upload
  auto t = Open(o);
  faulty.AddRule({.op = FaultOp::kRead, .path_prefix = "/stage/blocks", .error = EIO});
  const std::string data = RandomBytes(100000, 21), key = Key(21, 100000);
  ASSERT_TRUE(t->Write(key, data, false, {3, 0}).ok());
  EXPECT_EQ(t->stats().memory_bytes, 100000 + kBlockTrailerSize);
  Drain(*t);
  EXPECT_EQ(t->stats().upload_errors, 0u);
  EXPECT_EQ(t->stats().rereads, 0u);
  EXPECT_EQ(t->stats().memory_bytes, 0u);
  EXPECT_FALSE(Staged(key));
  auto stored = vol_.mem()->Get(key, 0, -1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, EncodeBlock(data, Compression::kNone));
}

// Without room in the budget (here: none) the upload reads the staged file back and verifies
// it: a read that fails is retried, the block stays staged until it succeeds.
TEST_F(StagingTest, WithoutMemoryBudgetUploadsReadTheStagedFileBack) {
  FaultyEnv faulty(&env_);
  auto o = Options();
  o.env = &faulty;
  o.memory = 0;
  auto t = Open(o);
  faulty.AddRule({.op = FaultOp::kRead, .path_prefix = "/stage/blocks", .error = EIO});
  const std::string data = RandomBytes(50000, 22), key = Key(22, 50000);
  ASSERT_TRUE(t->Write(key, data, false, {3, 0}).ok());
  EXPECT_EQ(t->stats().memory_bytes, 0u);
  for (int i = 0; i < 100 && t->stats().upload_errors == 0; i++) {
    clock_.Advance(std::chrono::milliseconds(500));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(t->stats().upload_errors, 1u);
  EXPECT_TRUE(Staged(key));
  EXPECT_FALSE(InStore(key));
  faulty.ClearRules();
  Drain(*t);
  EXPECT_GE(t->stats().rereads, 2u);  // the failed attempt and the one that worked
  auto body = home_.Get(key, 50000);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(**body, data);
}

// The budget bounds what is kept: blocks staged while it is used up are uploaded from their
// files; every block reaches the store intact either way, and nothing stays counted.
TEST_F(StagingTest, MemoryBudgetBoundsTheKeptBodies) {
  auto o = Options();
  o.memory = 2 * (100000 + kBlockTrailerSize) + 1000;  // two bodies fit, not three
  o.upload_delay = std::chrono::seconds(30);           // all staged before any upload
  auto t = Open(o);
  std::vector<std::string> keys, datas;
  for (uint64_t i = 0; i < 5; i++) {
    keys.push_back(Key(30 + i, 100000));
    datas.push_back(RandomBytes(100000, 30 + i));
    ASSERT_TRUE(t->Write(keys[i], datas[i], false, {}).ok());
    EXPECT_LE(t->stats().memory_bytes, o.memory);
  }
  EXPECT_EQ(t->stats().memory_bytes, 2 * (100000 + kBlockTrailerSize));
  Drain(*t);
  EXPECT_EQ(t->stats().rereads, 3u);
  EXPECT_EQ(t->stats().memory_bytes, 0u);
  for (size_t i = 0; i < keys.size(); i++) {
    auto body = home_.Get(keys[i], 100000);
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    EXPECT_EQ(**body, datas[i]);
  }
}

// A compressed volume: the kept body is the compressed one (counted at its own size), and
// what reaches the store decodes to the block.
TEST_F(StagingTest, KeptBodyOfACompressedVolumeIsTheStoredBody) {
  StoreTier lz4(vol_.faulty_shared(), Compression::kLz4);
  auto o = Options();
  o.upload_delay = std::chrono::seconds(30);
  auto t = StagingTier::Open(o, &lz4);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::string data(200000, 'z'), key = Key(40, 200000);
  ASSERT_TRUE((*t)->Write(key, data, false, {}).ok());
  const uint64_t kept = (*t)->stats().memory_bytes;
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, data.size() / 10);
  Drain(**t);
  EXPECT_EQ((*t)->stats().rereads, 0u);
  auto stored = vol_.mem()->Get(key, 0, -1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), kept);
  auto body = lz4.Get(key, 200000);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(**body, data);
}

TEST_F(StagingTest, DeletedBeforeUploadNeverReachesTheStore) {
  auto o = Options();
  o.upload_delay = std::chrono::seconds(5);
  auto t = Open(o);
  const std::string a = Key(1, 1000), b = Key(2, 1000);
  ASSERT_TRUE(t->Write(a, RandomBytes(1000, 1), false, {}).ok());
  ASSERT_TRUE(t->Write(b, RandomBytes(1000, 2), false, {}).ok());
  ASSERT_TRUE(t->Remove(a).ok());  // the file was deleted within the delay
  EXPECT_FALSE(Staged(a));
  Drain(*t);
  EXPECT_FALSE(InStore(a));
  EXPECT_TRUE(InStore(b));
  EXPECT_EQ(t->stats().removed_total, 1u);
  EXPECT_EQ(t->stats().uploaded_total, 1u);
}

TEST_F(StagingTest, StoreDownKeepsBlocksStagedAndRetriesWithBackoff) {
  vol_.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut)});
  auto t = Open(Options());
  const std::string key = Key(3, 5000);
  ASSERT_TRUE(t->Write(key, RandomBytes(5000, 3), false, {}).ok());  // at local speed
  for (int i = 0; i < 50 && t->stats().upload_errors < 3; i++) {
    clock_.Advance(std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GE(t->stats().upload_errors, 1u);
  EXPECT_FALSE(t->stats().last_error.empty());
  EXPECT_TRUE(Staged(key));  // never dropped for a store error
  vol_.faulty()->ClearRules();
  Drain(*t);
  EXPECT_TRUE(InStore(key));
  EXPECT_TRUE(t->stats().last_error.empty());
  EXPECT_EQ(t->stats().rereads, 0u);  // every attempt sent the body kept in memory
}

TEST_F(StagingTest, FullStagingMakesWritersWaitForUploads) {
  vol_.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut)});
  auto o = Options();
  o.limit = 1 << 20;
  auto t = Open(o);
  const std::string a = Key(1, 700000), b = Key(2, 700000);
  ASSERT_TRUE(t->Write(a, RandomBytes(700000, 1), false, {}).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_TRUE(t->Write(b, RandomBytes(700000, 2), false, {}).ok());
    done = true;
  });
  for (int i = 0; i < 1000 && t->stats().waits == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(t->stats().waits, 1u);
  EXPECT_FALSE(done.load());  // back-pressure, not failure
  vol_.faulty()->ClearRules();
  for (int i = 0; i < 2000 && !done; i++) {
    clock_.Advance(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  writer.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(t->stats().fallbacks, 0u);  // b was staged once a made room
  Drain(*t);
  EXPECT_TRUE(InStore(a));
  EXPECT_TRUE(InStore(b));
}

TEST_F(StagingTest, NoRoomInTimeGoesDirectToTheStore) {
  auto o = Options();
  o.limit = 1 << 20;
  o.upload_delay = std::chrono::hours(1);  // nothing leaves staging
  o.space_wait = std::chrono::milliseconds(0);
  auto t = Open(o);
  const std::string a = Key(1, 700000), b = Key(2, 700000);
  ASSERT_TRUE(t->Write(a, RandomBytes(700000, 1), false, {}).ok());
  ASSERT_TRUE(t->Write(b, RandomBytes(700000, 2), false, {}).ok());
  EXPECT_TRUE(Staged(a));
  EXPECT_FALSE(Staged(b));
  EXPECT_TRUE(InStore(b));  // durable in the store before Write returned
  EXPECT_EQ(t->stats().fallbacks, 1u);
}

TEST_F(StagingTest, FullOrFailingDiskGoesDirectAndStoreErrorIsReturned) {
  FaultyEnv faulty(&env_);
  auto o = Options();
  o.env = &faulty;
  auto t = Open(o);
  faulty.AddRule({.op = FaultOp::kWrite, .path_prefix = "/stage/blocks", .error = ENOSPC});
  const std::string a = Key(1, 4096);
  ASSERT_TRUE(t->Write(a, RandomBytes(4096, 1), false, {}).ok());
  EXPECT_TRUE(InStore(a));
  EXPECT_FALSE(Staged(a));
  EXPECT_EQ(env_.ListDir("/stage/blocks")->size(), 0u);  // the temporary file is gone too
  EXPECT_EQ(t->stats().blocks, 0u);
  EXPECT_EQ(t->stats().bytes, 0u);
  // Disk full AND store down: nothing is acknowledged.
  vol_.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut), .code = Code::kIOError});
  const std::string b = Key(2, 4096);
  EXPECT_FALSE(t->Write(b, RandomBytes(4096, 2), false, {}).ok());
  // EIO on fsync is the same: direct.
  faulty.ClearRules();
  vol_.faulty()->ClearRules();
  faulty.AddRule({.op = FaultOp::kSync, .path_prefix = "/stage/blocks", .error = EIO});
  const std::string c = Key(3, 4096);
  ASSERT_TRUE(t->Write(c, RandomBytes(4096, 3), false, {}).ok());
  EXPECT_TRUE(InStore(c));
  EXPECT_EQ(t->stats().fallbacks, 3u);
}

TEST_F(StagingTest, DirectoryIsLockedAndBelongsToOneVolume) {
  auto t = Open(Options());
  auto second = StagingTier::Open(Options(), &home_);
  EXPECT_EQ(second.status().code(), Code::kWouldBlock) << second.status().ToString();
  t.reset();
  auto other = Options();
  other.volume_uuid = "uuid-2";
  auto wrong = StagingTier::Open(other, &home_);
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("another volume"), std::string_view::npos);
}

TEST_F(StagingTest, RestartUploadsCommittedLeftoversAndRemovesUncommittedOnes) {
  const meta::Ino ino = vol_.NewFile("f");
  auto committed_id = vol_.meta()->NewSliceId();
  auto lost_id = vol_.meta()->NewSliceId();
  ASSERT_TRUE(committed_id.ok() && lost_id.ok());
  const std::string data = RandomBytes(3000, 9);
  const std::string a = Key(*committed_id, 3000), b = Key(*lost_id, 3000);
  auto o = Options();
  o.upload_delay = std::chrono::hours(1);  // the "killed" process uploaded nothing
  {
    auto t = Open(o);
    ASSERT_TRUE(t->Write(a, data, false, {ino, 0}).ok());
    ASSERT_TRUE(t->Write(b, RandomBytes(3000, 10), false, {ino, 0}).ok());
  }
  // Only a's slice was committed; b's process died between staging and commit. A write
  // that was cut short left a temporary file.
  ASSERT_TRUE(vol_.meta()->WriteSlice(ino, 0, {0, *committed_id, 3000, 0, 3000}, {1, 0}).ok());
  ASSERT_TRUE(env_.WriteFileAtomic("/stage/blocks/9_0_10.tmp.1.2.3", "partial").ok());
  auto t = Open(Options());
  EXPECT_EQ(t->Leftovers().size(), 2u);
  EXPECT_FALSE(env_.Stat("/stage/blocks/9_0_10.tmp.1.2.3").ok());
  auto served = t->Get(a, 3000);  // leftovers are served before they are sorted out
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(**served, data);
  auto r = RecoverStaging(vol_.meta(), t.get(), "vol/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->adopted, 1u);
  EXPECT_EQ(r->discarded, 1u);
  EXPECT_FALSE(Staged(b));
  Drain(*t);
  EXPECT_TRUE(InStore(a));
  EXPECT_FALSE(InStore(b));
  EXPECT_EQ(t->stats().rereads, 1u);  // a leftover has only its file
  auto body = home_.Get(a, 3000);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(**body, data);
}

// Blocks are staged in place: a process or machine that died before a file's fsync returned
// leaves it short. Such a file was never acknowledged (no commit follows a failed or missing
// fsync), so start-up treats it as an unfinished write — a leftover its owner discards, or a
// file without a header that is removed — never as damage.
TEST_F(StagingTest, UnfinishedInPlaceWritesAreLeftoversNotDamage) {
  const meta::Ino ino = vol_.NewFile("f");
  auto id = vol_.meta()->NewSliceId();
  ASSERT_TRUE(id.ok());
  const std::string key = Key(*id, 5000);
  const std::string whole =
      cache::EncodeStagedBlock(key, {ino, 0}, RandomBytes(5000, 11));
  const std::string dir = "/stage/blocks/";
  {
    auto t = Open(Options());  // creates the directory layout
  }
  // Killed in the middle of the data; killed before any byte; killed inside the header.
  ASSERT_TRUE(env_.WriteFileAtomic(dir + cache::StagedName(key), whole.substr(0, 700)).ok());
  ASSERT_TRUE(env_.WriteFileAtomic(dir + "77_0_100", "").ok());
  const std::string other = cache::EncodeStagedBlock("vol/chunks/0/0/78_0_100", {ino, 0}, "x");
  ASSERT_TRUE(env_.WriteFileAtomic(dir + "78_0_100", other.substr(0, 12)).ok());
  auto t = Open(Options());
  auto left = t->Leftovers();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, key);
  auto names = *env_.ListDir("/stage/blocks");
  ASSERT_EQ(names.size(), 1u);  // the two without a header are gone; nothing moved aside
  EXPECT_EQ(names[0].name, cache::StagedName(key));
  auto r = RecoverStaging(vol_.meta(), t.get(), "vol/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->discarded, 1u);  // its slice was never committed
  EXPECT_EQ(env_.ListDir("/stage/blocks")->size(), 0u);
  EXPECT_FALSE(InStore(key));
}

TEST_F(StagingTest, ClassifiesStagedFiles) {
  const std::string f = cache::EncodeStagedBlock("vol/chunks/0/0/5_1_3", {42, 7}, "abc");
  cache::StagedBlock b;
  std::string why;
  using K = cache::StagedFileKind;
  EXPECT_EQ(cache::ClassifyStagedFile(f, f.size(), &b, &why), K::kComplete);
  EXPECT_EQ(b.key, "vol/chunks/0/0/5_1_3");
  EXPECT_EQ(b.origin.ino, 42u);
  EXPECT_EQ(cache::ClassifyStagedFile(f.substr(0, f.size() - 2), f.size() - 2, &b, &why),
            K::kUnfinished);
  EXPECT_EQ(cache::ClassifyStagedFile("", 0, &b, &why), K::kNoHeader);
  EXPECT_EQ(cache::ClassifyStagedFile(f.substr(0, 3), 3, &b, &why), K::kNoHeader);
  EXPECT_EQ(cache::ClassifyStagedFile(f.substr(0, 20), 20, &b, &why), K::kNoHeader);
  EXPECT_EQ(cache::ClassifyStagedFile(f + "zz", f.size() + 2, &b, &why), K::kDamaged);
  std::string bad = f;
  bad[0] ^= 0x40;
  EXPECT_EQ(cache::ClassifyStagedFile(bad, bad.size(), &b, &why), K::kDamaged);
  EXPECT_EQ(cache::ClassifyStagedFile(bad.substr(0, 2), 2, &b, &why), K::kDamaged);
}

TEST_F(StagingTest, DamagedStagedFileIsNeverServed) {
  auto o = Options();
  o.upload_delay = std::chrono::hours(1);
  auto t = Open(o);
  const std::string key = Key(4, 2000);
  ASSERT_TRUE(t->Write(key, RandomBytes(2000, 4), false, {}).ok());
  const std::string path = "/stage/blocks/" + cache::StagedName(key);
  std::string raw = *env_.ReadFile(path);
  raw[100] ^= 1;
  ASSERT_TRUE(env_.WriteFileAtomic(path, raw).ok());
  EXPECT_TRUE(t->Get(key, 2000).status().Is(Code::kCorruption));
}

TEST_F(StagingTest, FormatRoundTripsAndRejectsDamage) {
  const std::string f = cache::EncodeStagedBlock("vol/chunks/0/0/5_1_3", {42, 7}, "abc");
  auto b = cache::DecodeStagedBlock(f);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->key, "vol/chunks/0/0/5_1_3");
  EXPECT_EQ(b->origin.ino, 42u);
  EXPECT_EQ(b->origin.chunk, 7u);
  EXPECT_EQ(b->data, "abc");
  EXPECT_EQ(cache::StagedName("vol/chunks/0/0/5_1_3"), "5_1_3");
  EXPECT_EQ(cache::StagedName("vol/../x"), "");
  EXPECT_FALSE(cache::DecodeStagedBlock(f.substr(0, f.size() - 1)).ok());
}

// The data path with writeback: close() commits while the store is down; this client reads
// its own staged blocks; another client waits for them (bounded) and reads them once
// uploaded.
TEST(WritebackChunkStore, FlushCommitsWhileStoreIsDownAndOthersReadAfterUpload) {
  TestVolume vol;
  MemEnv env;
  vol.faulty()->AddRule({.ops = object::OpBit(object::StoreOp::kPut)});
  ChunkOptions o = vol.Options();
  o.cache.memory_size = 0;  // reads must come from staging, not from a memory copy
  o.writeback = true;
  o.staging.dir = "/wb";
  o.staging.volume_uuid = vol.meta()->format().uuid;
  o.staging.env = &env;
  auto writer = vol.Open(o);
  ASSERT_NE(writer, nullptr);
  const meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(3 << 20, 5);  // three 1 MiB blocks
  ASSERT_TRUE(writer->Write(ino, 0, data).ok());
  ASSERT_TRUE(writer->Flush(ino).ok());  // committed with the store down
  EXPECT_EQ(vol.Length(ino), data.size());
  EXPECT_TRUE(vol.BlockObjects().empty());
  EXPECT_EQ(writer->staging()->stats().blocks, 3u);
  EXPECT_EQ(vol.ReadAll(*writer, ino), data);

  ChunkOptions ro = vol.Options();
  ro.reader.missing_block_wait_ms = 100;
  auto other = vol.Open(ro);
  auto early = other->Read(ino, 0, data.size(), data.size(), nullptr);
  EXPECT_EQ(early.status().code(), Code::kIOError) << early.status().ToString();

  vol.faulty()->ClearRules();
  auto left = writer->staging()->WaitDrained(std::chrono::seconds(10));
  EXPECT_EQ(left.blocks, 0u);
  EXPECT_EQ(vol.BlockObjects().size(), 3u);
  EXPECT_EQ(env.ListDir("/wb/blocks")->size(), 0u);
  other->InvalidateFile(ino);
  EXPECT_EQ(vol.ReadAll(*other, ino), data);
}

}  // namespace
}  // namespace strata::chunk
