// The read path's request pattern against the store: a sequential reader keeps several block
// GETs in flight (readahead), fetches each block once, and a clean shutdown deletes the
// blocks of files deleted just before it.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"
#include "common/mem_env.h"

namespace strata::chunk {
namespace {

using testing::RandomBytes;
using testing::TestVolume;

constexpr uint64_t kMiB = 1 << 20;

// Counts the GETs in flight at once and the GETs per key. Until `target` GETs have been in
// flight together once, each GET waits for company (at most `patience`), so the count shows
// how many GETs the reader issues without waiting for earlier ones: a reader that fetches
// one block at a time never reaches the target (each of its GETs just waits out its
// patience). After the target was reached, GETs pass straight through.
class ConcurrencyStore : public object::ObjectStoreWrapper {
 public:
  ConcurrencyStore(std::shared_ptr<object::ObjectStore> target_store, int target,
                   std::chrono::milliseconds patience)
      : ObjectStoreWrapper(std::move(target_store)), target_(target), patience_(patience) {}

  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override {
    {
      std::unique_lock lock(mu_);
      gets_[key]++;
      if (off != 0 || len != -1) ranged_++;
      in_flight_++;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      if (in_flight_ >= target_) reached_ = true;
      cv_.notify_all();
      cv_.wait_for(lock, patience_, [&] { return reached_; });
    }
    auto r = ObjectStoreWrapper::Get(key, off, len);
    std::lock_guard lock(mu_);
    in_flight_--;
    return r;
  }

  int max_in_flight() {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }
  int ranged() {
    std::lock_guard lock(mu_);
    return ranged_;
  }
  std::map<std::string, int> gets() {
    std::lock_guard lock(mu_);
    return gets_;
  }

 private:
  const int target_;
  const std::chrono::milliseconds patience_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  int ranged_ = 0;
  bool reached_ = false;
  std::map<std::string, int> gets_;
};

// A sequential reader in FUSE-sized (128 KiB) reads, on a fresh client with a cache (as a
// fresh mount reads a big file).
TEST(Readahead, SequentialReaderKeepsSeveralBlockGetsInFlight) {
  TestVolume vol({.block_size = 1 << 20});
  const uint64_t size = 24 * kMiB;
  const std::string data = RandomBytes(size, 77);
  meta::Ino ino = vol.NewFile("big");
  {
    auto writer = vol.Open();
    ASSERT_TRUE(writer->Write(ino, 0, data).ok());
    ASSERT_TRUE(writer->Flush(ino).ok());
  }
  const size_t blocks = vol.BlockObjects().size();
  ASSERT_EQ(blocks, 24u);

  auto counting = std::make_shared<ConcurrencyStore>(vol.mem_shared(), 4,
                                                     std::chrono::milliseconds(1000));
  auto cs = vol.OpenOn(counting, vol.Options());
  ReadState state;
  std::string back;
  for (uint64_t off = 0; off < size; off += 128 << 10) {
    auto r = cs->Read(ino, off, 128 << 10, size, &state);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    back += *r;
  }
  ASSERT_EQ(back.size(), size);
  EXPECT_TRUE(back == data);
  // Readahead: at least 4 block GETs were outstanding together.
  EXPECT_GE(counting->max_in_flight(), 4);
  // And no block is downloaded twice (no ranged GETs of a block that is being fetched
  // whole anyway): one whole-block GET per block.
  auto gets = counting->gets();
  EXPECT_EQ(gets.size(), blocks);
  for (auto& [key, n] : gets) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(counting->ranged(), 0);
}

// A MemEnv whose cache-file reads (ReadFileUncached, the disk tier's Get) wait for company as
// ConcurrencyStore's GETs do, once armed: the most reads in flight at once shows whether the
// reader keeps several disk reads going or waits on one at a time.
class ConcurrencyEnv : public Env {
 public:
  void Arm(int target, std::chrono::milliseconds patience) {
    std::lock_guard lock(mu_);
    target_ = target;
    patience_ = patience;
  }
  int max_in_flight() {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }

  Result<BlockBuffer> ReadFileUncached(const std::string& path) override {
    {
      std::unique_lock lock(mu_);
      if (target_ > 0) {
        reads_++;
        in_flight_++;
        max_in_flight_ = std::max(max_in_flight_, in_flight_);
        if (in_flight_ >= target_) reached_ = true;
        cv_.notify_all();
        cv_.wait_for(lock, patience_, [&] { return reached_; });
      }
    }
    auto r = mem_.ReadFileUncached(path);
    std::lock_guard lock(mu_);
    if (target_ > 0) in_flight_--;
    return r;
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& p) override {
    return mem_.NewRandomAccessFile(p);
  }
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p,
                                                        OpenMode mode) override {
    return mem_.NewWritableFile(p, mode);
  }
  Status Rename(const std::string& from, const std::string& to, bool no_replace) override {
    return mem_.Rename(from, to, no_replace);
  }
  Status RemoveFile(const std::string& p) override { return mem_.RemoveFile(p); }
  Status RemoveDir(const std::string& p) override { return mem_.RemoveDir(p); }
  Status CreateDirs(const std::string& p) override { return mem_.CreateDirs(p); }
  Status CreateDir(const std::string& p) override { return mem_.CreateDir(p); }
  Result<std::vector<DirEntry>> ListDir(const std::string& p) override { return mem_.ListDir(p); }
  Result<FileInfo> Stat(const std::string& p) override { return mem_.Stat(p); }
  Status SyncDir(const std::string& p) override { return mem_.SyncDir(p); }
  Status SyncFile(const std::string& p) override { return mem_.SyncFile(p); }
  Result<SpaceInfo> GetSpace(const std::string& p) override { return mem_.GetSpace(p); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p, LockType type,
                                             bool wait) override {
    return mem_.LockFile(p, type, wait);
  }

 private:
  MemEnv mem_;
  std::mutex mu_;
  std::condition_variable cv_;
  int target_ = 0;  // 0: not armed, reads pass straight through uncounted
  std::chrono::milliseconds patience_{0};
  int in_flight_ = 0;
  int max_in_flight_ = 0;
  int reads_ = 0;
  bool reached_ = false;
};

// A local disk-cache hit (a fresh client, its memory tier empty, every block in its disk
// cache): a sequential reader keeps several cache-file reads in flight ahead of it, reads each
// block from the disk once, and asks the store for nothing.
TEST(Readahead, SequentialReaderOfDiskCachedBlocksKeepsSeveralDiskReadsInFlight) {
  TestVolume vol({.block_size = 1 << 20});
  const uint64_t size = 12 * kMiB;
  const std::string data = RandomBytes(size, 79);
  meta::Ino ino = vol.NewFile("big");
  ConcurrencyEnv env;
  auto o = vol.Options();
  o.cache.cache_dir = "/cache";
  o.cache.free_space_ratio = 0;
  o.cache.env = &env;
  o.reader.local_readahead_after = 2 * kMiB;  // (16 MiB by default)
  {
    auto writer = vol.Open(o);  // written blocks fill its caches, the disk cache among them
    ASSERT_TRUE(writer->Write(ino, 0, data).ok());
    ASSERT_TRUE(writer->Flush(ino).ok());
  }
  auto store = std::make_shared<ConcurrencyStore>(vol.mem_shared(), 1,
                                                  std::chrono::milliseconds(0));
  auto cs = vol.OpenOn(store, o);  // the disk cache's index is rebuilt by its scan
  env.Arm(3, std::chrono::milliseconds(200));  // the first 2 blocks wait for company in vain
  ReadState state;
  std::string back;
  for (uint64_t off = 0; off < size; off += 128 << 10) {
    auto r = cs->Read(ino, off, 128 << 10, size, &state);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    back += *r;
  }
  cs.reset();  // waits for background reads
  ASSERT_EQ(back.size(), size);
  EXPECT_TRUE(back == data);
  EXPECT_GE(env.max_in_flight(), 3);
  EXPECT_EQ(env.reads(), 12);  // each block read from the disk once
  EXPECT_TRUE(store->gets().empty());
}

// A Parquet-like reader of a disk-cached file: a sequential range shorter than
// local_readahead_after reads from the disk the blocks it covers and nothing ahead of them.
TEST(Readahead, ShortRangeOfDiskCachedBlocksReadsNothingAhead) {
  TestVolume vol({.block_size = 1 << 20});
  const uint64_t size = 32 * kMiB;
  const std::string data = RandomBytes(size, 80);
  meta::Ino ino = vol.NewFile("table");
  ConcurrencyEnv env;
  auto o = vol.Options();
  o.cache.cache_dir = "/cache";
  o.cache.free_space_ratio = 0;
  o.cache.env = &env;
  {
    auto writer = vol.Open(o);
    ASSERT_TRUE(writer->Write(ino, 0, data).ok());
    ASSERT_TRUE(writer->Flush(ino).ok());
  }
  auto cs = vol.Open(o);
  env.Arm(1, std::chrono::milliseconds(0));  // counts only
  ReadState state;
  auto first = cs->Read(ino, 30 * kMiB, 4096, size, &state);  // a footer read, then a seek
  ASSERT_TRUE(first.ok());
  for (uint64_t off = kMiB; off < 13 * kMiB; off += 128 << 10) {  // a 12 MiB column chunk
    auto r = cs->Read(ino, off, 128 << 10, size, &state);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(*r == data.substr(off, 128 << 10));
  }
  cs.reset();  // waits for background reads
  EXPECT_EQ(env.reads(), 1 + 12);
}

// The kernel's requests for a sequential reader arrive slightly out of order (FUSE async
// reads): 0, 256K, 128K, 512K, 384K, ... The reader must still see a sequential run and keep
// its readahead window, not take each swap for a seek.
TEST(Readahead, ReorderedSequentialReadsKeepTheWindow) {
  TestVolume vol({.block_size = 1 << 20});
  const uint64_t size = 12 * kMiB;
  const uint64_t piece = 128 << 10;
  const std::string data = RandomBytes(size, 78);
  meta::Ino ino = vol.NewFile("big");
  {
    auto writer = vol.Open();
    ASSERT_TRUE(writer->Write(ino, 0, data).ok());
    ASSERT_TRUE(writer->Flush(ino).ok());
  }
  std::vector<uint64_t> order = {0};
  for (uint64_t off = piece; off + piece < size; off += 2 * piece) {
    order.push_back(off + piece);
    order.push_back(off);
  }
  order.push_back(size - piece);
  ASSERT_EQ(order.size(), size / piece);

  auto counting = std::make_shared<ConcurrencyStore>(vol.mem_shared(), 4,
                                                     std::chrono::milliseconds(200));
  auto cs = vol.OpenOn(counting, vol.Options());
  ReadState state;
  std::string back(size, '\0');
  for (uint64_t off : order) {
    auto r = cs->Read(ino, off, piece, size, &state);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->size(), piece);
    back.replace(off, piece, *r);
  }
  EXPECT_TRUE(back == data);
  EXPECT_GE(counting->max_in_flight(), 4);
  auto gets = counting->gets();
  EXPECT_EQ(gets.size(), size / kMiB);
  for (auto& [key, n] : gets) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(counting->ranged(), 0);
}

// Without a readahead state (a random reader), nothing is fetched ahead: the window is not
// opened by accident.
TEST(Readahead, ReadWithoutStateFetchesOnlyWhatItReads) {
  TestVolume vol({.block_size = 1 << 20});
  const uint64_t size = 8 * kMiB;
  meta::Ino ino = vol.NewFile("f");
  {
    auto writer = vol.Open();
    ASSERT_TRUE(writer->Write(ino, 0, RandomBytes(size, 3)).ok());
    ASSERT_TRUE(writer->Flush(ino).ok());
  }
  auto counting = std::make_shared<ConcurrencyStore>(vol.mem_shared(), 1,
                                                     std::chrono::milliseconds(0));
  auto cs = vol.OpenOn(counting, vol.Options());
  auto r = cs->Read(ino, 2 * kMiB, 1 * kMiB, size, nullptr);
  ASSERT_TRUE(r.ok());
  cs.reset();  // waits for background work
  auto gets = counting->gets();
  EXPECT_EQ(gets.size(), 1u);
}

// Clean shutdown: the blocks of a file deleted just before it are gone from the store once
// the ChunkStore is destroyed, without waiting for the deleter's interval.
TEST(ShutdownDeleter, BlocksOfAFileDeletedBeforeShutdownAreGone) {
  TestVolume vol({.block_size = 64 << 10});
  auto o = vol.Options();
  o.background_jobs = true;
  o.deleter_interval_ms = 3600 * 1000;  // the periodic pass never comes in this test
  auto cs = vol.Open(o);
  meta::Ino keep = vol.NewFile("keep");
  meta::Ino gone = vol.NewFile("gone");
  const std::string kept = RandomBytes(200000, 1);
  ASSERT_TRUE(cs->Write(keep, 0, kept).ok());
  ASSERT_TRUE(cs->Write(gone, 0, RandomBytes(300000, 2)).ok());
  ASSERT_TRUE(cs->FlushAll().ok());
  const size_t all = vol.BlockObjects().size();
  ASSERT_EQ(all, 4u + 5u);  // 200000 B and 300000 B in 64 KiB blocks
  ASSERT_TRUE(vol.meta()->Unlink(meta::Context{}, meta::kRootIno, "gone").ok());
  EXPECT_EQ(vol.BlockObjects().size(), all);  // not deleted yet
  cs.reset();
  EXPECT_EQ(vol.BlockObjects().size(), 4u);
  for (const auto& key : vol.BlockObjects()) {
    auto parsed = ParseBlockKey("vol/", key);
    ASSERT_TRUE(parsed.ok());
  }
  EXPECT_TRUE(vol.meta()->PendingSliceDeletions(100)->empty());
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), keep) == kept);
}

// With background jobs off (--no-bgjob), shutdown deletes nothing: the user asked for no
// cleanup from this client.
TEST(ShutdownDeleter, NoBackgroundJobsMeansNoDeletionAtShutdown) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();  // background_jobs = false
  meta::Ino ino = vol.NewFile("gone");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(100000, 2)).ok());
  ASSERT_TRUE(cs->FlushAll().ok());
  ASSERT_TRUE(vol.meta()->Unlink(meta::Context{}, meta::kRootIno, "gone").ok());
  cs.reset();
  EXPECT_EQ(vol.BlockObjects().size(), 2u);
}

}  // namespace
}  // namespace strata::chunk
