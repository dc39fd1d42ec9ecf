// Writer and reader behaviours a user notices: what fsync makes durable (and how: a store
// Sync in place, never a re-read or re-store), what close waits for, sequential readahead,
// and a failing cache disk. Real Meta (memkv) and a mem:// store.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"
#include "common/faulty_env.h"
#include "common/mem_env.h"
#include "object/file_store.h"
#include "object/metrics_store.h"

namespace strata::chunk {
namespace {

using testing::HookStore;
using testing::RandomBytes;
using testing::TestVolume;

constexpr uint32_t kBlock = 64 << 10;

// Records what the writer made durable and how: a key is durable once a Put of it had
// PutOptions::sync or a Sync call named it after it was stored.
class DurabilityLog {
 public:
  void Attach(HookStore& store) {
    store.SetPutHook([this](const std::string& key, const object::PutOptions& o) {
      std::lock_guard lock(mu_);
      puts_[key]++;
      durable_[key] = o.sync;  // a later unsynced Put would undo an earlier sync
      if (o.sync) sync_puts_++;
    });
    store.SetSyncHook([this](const std::vector<std::string>& keys) {
      std::lock_guard lock(mu_);
      for (const auto& k : keys) {
        if (puts_.count(k)) durable_[k] = true;
        synced_keys_.push_back(k);
        synced_count_++;
      }
    });
  }
  bool Synced(const std::string& key) {
    std::lock_guard lock(mu_);
    return durable_.count(key) && durable_[key];
  }
  // Work done to make data durable: Puts with sync plus keys named in Sync calls.
  int durable_ops() {
    std::lock_guard lock(mu_);
    return sync_puts_ + synced_count_;
  }
  int sync_puts() {
    std::lock_guard lock(mu_);
    return sync_puts_;
  }
  int puts(const std::string& key) {
    std::lock_guard lock(mu_);
    return puts_.count(key) ? puts_[key] : 0;
  }
  int total_puts() {
    std::lock_guard lock(mu_);
    int n = 0;
    for (auto& [k, c] : puts_) n += c;
    return n;
  }
  // Keys named in Sync calls since the last call of this, sorted (repeats kept).
  std::vector<std::string> TakeSyncedKeys() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    out.swap(synced_keys_);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> puts_;
  std::map<std::string, bool> durable_;
  std::vector<std::string> synced_keys_;
  int sync_puts_ = 0;
  int synced_count_ = 0;  // keys named in Sync calls, ever
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
  DurabilityLog log;
  log.Attach(*store);
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
  EXPECT_EQ(vol.BlockObjects(), keys);  // made durable in place, nothing added
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == data);
  // Nothing new since: a second fsync has nothing to do.
  int before = log.durable_ops();
  ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(log.durable_ops(), before);
}

// A close() (Flush) before the fsync: the later fsync still covers that data.
TEST(Fsync, CoversDataOfAnEarlierClose) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  DurabilityLog log;
  log.Attach(*store);
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

// fsync on file:// after timer commits: one store Sync naming exactly the file's blocks that
// were committed without sync — not another file's — and not a single Get or Put (the old
// way read every block back and stored it again).
TEST(Fsync, SyncsExactlyTheUnsyncedBlocksInPlace) {
  TestVolume vol({.block_size = kBlock});
  auto metrics =
      std::shared_ptr<object::MetricsStore>(object::MetricsStore::Open(vol.mem_shared()));
  auto store = std::make_shared<HookStore>(metrics);
  DurabilityLog log;
  log.Attach(*store);
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;
  o.writer.idle_ms = 20;  // timers commit, without sync
  auto cs = vol.OpenOn(store, o);
  meta::Ino a = vol.NewFile("a"), b = vol.NewFile("b");
  ASSERT_TRUE(cs->Write(a, 0, RandomBytes(2 * kBlock + 10, 8)).ok());
  ASSERT_TRUE(Eventually([&] { return !cs->writer()->HasPending(a); }));
  ASSERT_TRUE(cs->Write(a, 5 * kBlock, RandomBytes(kBlock, 9)).ok());  // a second slice
  ASSERT_TRUE(Eventually([&] { return !cs->writer()->HasPending(a); }));
  const std::vector<std::string> keys_a = vol.BlockObjects();
  ASSERT_EQ(keys_a.size(), 4u);
  ASSERT_TRUE(cs->Write(b, 0, RandomBytes(100, 10)).ok());
  ASSERT_TRUE(Eventually([&] { return !cs->writer()->HasPending(b); }));
  std::vector<std::string> keys_b;
  for (auto& k : vol.BlockObjects()) {
    if (!std::count(keys_a.begin(), keys_a.end(), k)) keys_b.push_back(k);
  }
  ASSERT_EQ(keys_b.size(), 1u);
  EXPECT_TRUE(log.TakeSyncedKeys().empty());

  auto count = [&](object::StoreOp op) { return metrics->Snapshot(op).calls; };
  const uint64_t gets = count(object::StoreOp::kGet), puts = count(object::StoreOp::kPut);
  ASSERT_TRUE(cs->Fsync(a).ok());
  EXPECT_EQ(count(object::StoreOp::kSync), 1u);
  EXPECT_EQ(log.TakeSyncedKeys(), keys_a);
  EXPECT_EQ(count(object::StoreOp::kGet), gets);
  EXPECT_EQ(count(object::StoreOp::kPut), puts);
  for (auto& k : keys_b) EXPECT_FALSE(log.Synced(k)) << k;  // another file's fsync's job

  ASSERT_TRUE(cs->Fsync(b).ok());
  EXPECT_EQ(log.TakeSyncedKeys(), keys_b);
  ASSERT_TRUE(cs->Fsync(a).ok());  // nothing new: not even an empty Sync call
  EXPECT_EQ(count(object::StoreOp::kSync), 2u);
  EXPECT_EQ(count(object::StoreOp::kGet), gets);
  EXPECT_EQ(count(object::StoreOp::kPut), puts);
}

// fsync while a slice is still open: its full blocks were already stored without sync (they
// upload as soon as they fill), so they are synced in place; the last, partial block is
// stored with sync. No block is stored twice.
TEST(Fsync, SyncsBlocksOfAnOpenSliceInsteadOfStoringThemAgain) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  DurabilityLog log;
  log.Attach(*store);
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;
  o.writer.idle_ms = o.writer.freeze_after_ms = 600000;  // only the fsync freezes the slice
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(2 * kBlock + 100, 11);
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  ASSERT_TRUE(Eventually([&] { return log.total_puts() == 2; }));  // the two full blocks
  ASSERT_TRUE(cs->Fsync(ino).ok());
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 3u);
  std::vector<std::string> full, partial;
  for (auto& k : keys) {
    EXPECT_EQ(log.puts(k), 1) << k;
    EXPECT_TRUE(log.Synced(k)) << k;
    (k.ends_with("_" + std::to_string(kBlock)) ? full : partial).push_back(k);
  }
  EXPECT_EQ(log.TakeSyncedKeys(), full);
  EXPECT_EQ(log.sync_puts(), 1);  // the partial block
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == data);
}

// A failing store Sync fails the fsync; the keys are kept, and the next fsync syncs them.
TEST(Fsync, FailedSyncIsReportedAndRetriedByTheNextFsync) {
  TestVolume vol({.block_size = kBlock});
  ChunkOptions o = vol.Options();
  o.blocks.puts_need_sync = true;
  auto cs = vol.Open(o);  // through vol.faulty()
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(kBlock, 12)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());  // committed without sync
  object::FaultRule r;
  r.ops = object::OpBit(object::StoreOp::kSync);
  r.code = Code::kIOError;
  r.message = "disk went away";
  r.count = 1;
  vol.faulty()->AddRule(r);
  Status st = cs->Fsync(ino);
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_NE(st.ToString().find("disk went away"), std::string::npos) << st.ToString();
  EXPECT_EQ(vol.faulty()->injected(), 1u);
  ASSERT_TRUE(cs->Fsync(ino).ok());  // the kept keys, synced now
  EXPECT_EQ(vol.faulty()->injected(), 1u);
  // A third fsync has nothing left to sync: a fault would not be reached.
  vol.faulty()->AddRule(r);
  EXPECT_TRUE(cs->Fsync(ino).ok());
}

// The same on a real file:// store: fsync leaves every block file in place (same inode, so
// not rewritten through a temporary file) and the data reads back.
TEST(Fsync, FileStoreBlocksAreSyncedInPlace) {
  char tmpl[] = "/tmp/strata-fsync-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    auto file = object::FileStore::Open(dir);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    std::shared_ptr<object::ObjectStore> store = std::move(*file);
    TestVolume vol({.block_size = kBlock});
    ChunkOptions o = vol.Options();
    o.blocks.puts_need_sync = true;  // what FromFormat sets for file://
    auto cs = vol.OpenOn(store, o);
    meta::Ino ino = vol.NewFile("f");
    const std::string data = RandomBytes(3 * kBlock + 7, 13);
    ASSERT_TRUE(cs->Write(ino, 0, data).ok());
    ASSERT_TRUE(cs->Flush(ino).ok());     // close(): stored without sync
    std::map<std::string, ino_t> inodes;  // block file -> inode number
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      struct stat st;
      if (e.is_regular_file() && ::stat(e.path().c_str(), &st) == 0) {
        inodes[e.path()] = st.st_ino;
      }
    }
    ASSERT_EQ(inodes.size(), 4u);
    ASSERT_TRUE(cs->Fsync(ino).ok());
    for (auto& [path, inode] : inodes) {
      struct stat st;
      ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
      EXPECT_EQ(st.st_ino, inode) << path << " was rewritten";
    }
    EXPECT_TRUE(vol.ReadAll(*vol.OpenOn(store, o), ino) == data);
  }
  std::filesystem::remove_all(dir);
}

// Stores whose every PUT is durable (S3, mem://): fsync stores nothing twice and syncs
// nothing.
TEST(Fsync, NoRewritesWhenPutsAreDurable) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  DurabilityLog log;
  log.Attach(*store);
  ChunkOptions o = vol.Options();
  EXPECT_FALSE(o.blocks.puts_need_sync);  // FromFormat: mem:// is not a local directory
  auto cs = vol.OpenOn(store, o);
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(2 * kBlock, 4)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(log.durable_ops(), 0);  // neither synced Puts nor Sync calls
}

// Remembered keys are bounded: past max_unsynced_blocks they are made durable in the
// background, so fsync has nothing left to do for them.
TEST(Fsync, RememberedKeysAreBoundedByBackgroundSync) {
  TestVolume vol({.block_size = kBlock});
  auto store = std::make_shared<HookStore>(vol.mem_shared());
  DurabilityLog log;
  log.Attach(*store);
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
  int before = log.durable_ops();
  for (meta::Ino ino : inos) ASSERT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(synced(), 5);
  EXPECT_LE(log.durable_ops() - before, 2);  // fsync synced only what was still remembered
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
