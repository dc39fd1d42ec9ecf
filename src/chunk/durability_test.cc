// Writer and reader behaviours a user notices: what fsync makes durable, what close waits
// for, sequential readahead, and a failing cache disk. Real Meta (memkv) and a mem:// store.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"
#include "common/faulty_env.h"
#include "common/mem_env.h"
#include "object/metrics_store.h"

namespace strata::chunk {
namespace {

using testing::HookStore;
using testing::RandomBytes;
using testing::TestVolume;

constexpr uint32_t kBlock = 64 << 10;

// Records every Put: key -> whether some Put of it was durable (PutOptions::sync).
class PutLog {
 public:
  HookStore::Hook Hook() {
    return [this](const std::string& key, const object::PutOptions& o) {
      std::lock_guard lock(mu_);
      synced_[key] = synced_[key] || o.sync;
      if (o.sync) sync_puts_++;
    };
  }
  bool Synced(const std::string& key) {
    std::lock_guard lock(mu_);
    return synced_.count(key) && synced_[key];
  }
  int sync_puts() {
    std::lock_guard lock(mu_);
    return sync_puts_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, bool> synced_;
  int sync_puts_ = 0;
};

// Waits (without asserting any duration) until cond holds; false only if it never does
// within a generous bound, which is then a failure of the behaviour, not a slow machine.
template <typename F>
bool Eventually(F cond) {
  for (int i = 0; i < 6000; i++) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// DESIGN.md §6: fsync() makes every block of the file durable, also blocks of slices that
// the freeze timers committed (without sync) long before the fsync.
TEST(Fsync, MakesBlocksCommittedEarlierByTimersDurable) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  PutLog log;
  store->SetPutHook(log.Hook());
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;  // as on file://
  o.writer.idle_ms = 20;           // the timer commits the slice, not Flush
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(3 * kBlock + 100, 1);
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  ASSERT_TRUE(Eventually([&] { return !cs->writer()->HasPending(ino); }));
  ASSERT_EQ(vol.Length(ino), data.size());
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 4u);
  for (auto& k : keys) EXPECT_FALSE(log.Synced(k)) << k;  // committed, not yet durable

  ASSERT_TRUE(cs->Fsync(ino).ok());
  for (auto& k : keys) EXPECT_TRUE(log.Synced(k)) << k;
  EXPECT_EQ(vol.BlockObjects(), keys);  // re-stored in place, nothing added
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == data);
  // Nothing new since: a second fsync stores nothing again.
  int before = log.sync_puts();
  ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(log.sync_puts(), before);
}

// A close() (Flush) before the fsync: the later fsync still covers that data.
TEST(Fsync, CoversDataOfAnEarlierClose) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  PutLog log;
  store->SetPutHook(log.Hook());
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(kBlock, 2)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  ASSERT_TRUE(cs->Write(ino, kBlock, RandomBytes(100, 3)).ok());  // a second, pending slice
  ASSERT_TRUE(cs->Fsync(ino).ok());
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 2u);
  for (auto& k : keys) EXPECT_TRUE(log.Synced(k)) << k;
}

// Stores whose every PUT is durable (S3, mem://): fsync stores nothing twice.
TEST(Fsync, NoRewritesWhenPutsAreDurable) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  PutLog log;
  store->SetPutHook(log.Hook());
  ChunkOptions o = vol.Options();
  EXPECT_FALSE(o.blocks.puts_need_sync);  // FromFormat: mem:// is not a local directory
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(2 * kBlock, 4)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(log.sync_puts(), 0);
}

// Remembered keys are bounded: past max_unsynced_blocks they are made durable in the
// background, so fsync has nothing left to do for them.
TEST(Fsync, RememberedKeysAreBoundedByBackgroundSync) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  PutLog log;
  store->SetPutHook(log.Hook());
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;
  o.writer.max_unsynced_blocks = 2;
  o.writer.idle_ms = 20;  // the timer thread runs the background pass
  auto cs = vol.OpenOn(store, o);
  std::vector<meta::Ino> inos;
  for (int i = 0; i < 5; i++) {
    inos.push_back(vol.NewFile("f" + std::to_string(i)));
    ASSERT_TRUE(cs->Write(inos.back(), 0, RandomBytes(1000, i)).ok());
    ASSERT_TRUE(cs->Flush(inos.back()).ok());
  }
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 5u);
  auto synced = [&] {
    int n = 0;
    for (auto& k : keys) n += log.Synced(k);
    return n;
  };
  // At most max_unsynced_blocks stay remembered; the rest were made durable already.
  ASSERT_TRUE(Eventually([&] { return synced() >= 3; }));
  int before = log.sync_puts();
  for (meta::Ino ino : inos) ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(synced(), 5);
  EXPECT_LE(log.sync_puts() - before, 2);  // fsync redid only what was still remembered
}

// close() waits for what was written before it, not for slices other threads open on the
// same file while it waits (those used to hold it until the idle timer fired).
TEST(Flush, DoesNotWaitForSlicesOpenedDuringIt) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, open = false;
  store->SetPutHook([&](const std::string&, const object::PutOptions&) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  });
  ChunkOptions o = vol.Options();
  o.writer.idle_ms = o.writer.freeze_after_ms = 600000;  // only Flush freezes slices
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  const std::string first = RandomBytes(1000, 5);
  ASSERT_TRUE(cs->Write(ino, 0, first).ok());
  auto flushed = std::async(std::launch::async, [&] { return cs->Flush(ino); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });  // the flush is uploading the first slice
  }
  ASSERT_TRUE(cs->Write(ino, 70 << 20, "later").ok());  // another thread, a new slice
  {
    std::lock_guard lock(mu);
    open = true;
  }
  cv.notify_all();
  // The bound only keeps a regression from hanging the suite; it measures nothing.
  ASSERT_EQ(flushed.wait_for(std::chrono::seconds(120)), std::future_status::ready);
  EXPECT_TRUE(flushed.get().ok());
  EXPECT_EQ(vol.Length(ino), first.size());          // the first write is committed
  EXPECT_TRUE(cs->writer()->HasPending(ino));        // the later one is still buffered
  EXPECT_EQ(cs->PendingEnd(ino), (70u << 20) + 5);
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(vol.Length(ino), (70u << 20) + 5);
  EXPECT_EQ(*vol.Open()->Read(ino, 70 << 20, 5, vol.Length(ino), nullptr), "later");
}

// DESIGN.md §7: sequential reads fetch ahead; random reads do not. Counted in store GETs.
TEST(Readahead, SequentialReadsFetchBlocksAhead) {
  TestVolume vol({.block_size = kBlock});
  meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(8 * kBlock, 6);
  {
    auto w = vol.Open();
    ASSERT_TRUE(w->Write(ino, 0, data).ok());
    ASSERT_TRUE(w->Flush(ino).ok());
  }
  auto count_gets = [&](const std::vector<int>& blocks) {
    auto metrics = std::shared_ptr<object::MetricsStore>(
        object::MetricsStore::Open(vol.mem_shared()));
    {
      auto cs = vol.OpenOn(metrics, vol.Options());  // a cold cache
      ReadState state;
      for (int b : blocks) {
        auto r = cs->Read(ino, uint64_t{kBlock} * b, kBlock, data.size(), &state);
        EXPECT_TRUE(r.ok());
        EXPECT_TRUE(*r == data.substr(uint64_t{kBlock} * b, kBlock));
      }
    }  // destroying the client waits for its queued prefetches
    return metrics->Snapshot(object::StoreOp::kGet).calls;
  };
  // Blocks 0 and 1 read in order: the window grows to two blocks, so blocks 1, 2 and 3 are
  // fetched ahead; every block is fetched exactly once.
  EXPECT_EQ(count_gets({0, 1}), 4u);
  // Reading the whole file in order costs one GET per block, no more.
  EXPECT_EQ(count_gets({0, 1, 2, 3, 4, 5, 6, 7}), 8u);
  // Random order: nothing but what was asked for.
  EXPECT_EQ(count_gets({5, 2, 7}), 3u);
}

// DESIGN.md §7: a failing cache disk is dropped, reads keep being served from the store.
TEST(CacheDisk, FailingDiskDoesNotFailReads) {
  TestVolume vol({.block_size = kBlock});
  meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(4 * kBlock, 7);
  MemEnv mem;
  FaultyEnv env(&mem);
  ChunkOptions o = vol.Options();
  o.cache.memory_size = 0;  // the disk tier is the only cache
  o.cache.cache_dir = "/cache";
  o.cache.free_space_ratio = 0;
  o.cache.env = &env;
  auto cs = vol.Open(o);
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(cs->cache()->stats().disk_blocks, 4u);  // written blocks were cached
  env.AddRule({.op = FaultOp::kRead, .path_prefix = "/cache", .error = EIO});
  cs->InvalidateFile(ino);
  auto r = cs->Read(ino, 0, data.size(), vol.Length(ino), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == data);
  EXPECT_FALSE(cs->cache()->disk_enabled());
  // A full disk for a fresh client: writes and reads still work.
  env.ClearRules();
  env.AddRule({.op = FaultOp::kWrite, .path_prefix = "/cache", .error = ENOSPC});
  auto fresh = vol.Open(o);
  ASSERT_TRUE(fresh->Write(ino, 0, "new").ok());
  ASSERT_TRUE(fresh->Flush(ino).ok());
  EXPECT_FALSE(fresh->cache()->disk_enabled());
  r = fresh->Read(ino, 0, data.size(), vol.Length(ino), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r == "new" + data.substr(3));
}

}  // namespace
}  // namespace strata::chunk
