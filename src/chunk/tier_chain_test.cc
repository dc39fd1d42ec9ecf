// The chain of block tiers (cache/tier_chain.h) over real tiers: the memory tier, the disk tier
// on an in-memory Env (behind FaultyEnv to fail the disk), and the store tier over a mem://
// store seen through GateStore, which counts the GETs that reach the store and can hold them
// back so that concurrent readers meet. The tests live in chunk/ because the last tier, the
// store tier, does (it needs the block codec).
#include "cache/tier_chain.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_cache.h"
#include "cache/disk_tier.h"
#include "cache/memory_tier.h"
#include "chunk/block_key.h"
#include "chunk/store_tier.h"
#include "chunk/test_volume.h"
#include "common/faulty_env.h"
#include "common/mem_env.h"
#include "object/faulty_store.h"
#include "object/mem_store.h"

namespace strata::chunk {
namespace {

using cache::BlockData;
using cache::TierChain;
using cache::TierChainOptions;
using cache::TierStats;
using testing::RandomBytes;

// Counts whole and ranged GETs; while closed, holds every GET until Open().
class GateStore : public object::ObjectStoreWrapper {
 public:
  using ObjectStoreWrapper::ObjectStoreWrapper;

  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override {
    {
      std::unique_lock lock(mu_);
      (off == 0 && len < 0 ? whole_ : ranged_)++;
      cv_.wait(lock, [&] { return open_; });
    }
    return ObjectStoreWrapper::Get(key, off, len);
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int whole() {
    std::lock_guard lock(mu_);
    return whole_;
  }
  int ranged() {
    std::lock_guard lock(mu_);
    return ranged_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int whole_ = 0;
  int ranged_ = 0;
};

// Polls `cond` until it holds or 10 s passed (a guard against a hang, not a timing assertion).
bool Eventually(const std::function<bool()>& cond) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct ChainSpec {
  uint64_t memory_size = 1 << 20;
  bool disk = true;
  Compression compression = Compression::kNone;
  std::shared_ptr<object::FaultyStore>* faulty = nullptr;  // when set: a FaultyStore below
  bool disk_fills_from_store = true;  // false: the disk is in no_fills_from_last
};

// memory → disk (MemEnv behind FaultyEnv, at /cache) → store (mem:// behind GateStore).
class Chain {
 public:
  explicit Chain(ChainSpec spec = {}) : env_(&mem_env_) {
    mem_ = std::shared_ptr<object::ObjectStore>(object::MemStore::Open("tiers"));
    std::shared_ptr<object::ObjectStore> below = mem_;
    if (spec.faulty) {
      *spec.faulty = std::shared_ptr<object::FaultyStore>(object::FaultyStore::Open(mem_, {}));
      below = *spec.faulty;
    }
    gate_ = std::make_shared<GateStore>(below);
    cache::CacheOptions co;
    co.memory_size = spec.memory_size;
    if (spec.disk) {
      co.cache_dir = "/cache";
      co.free_space_ratio = 0;
      co.env = &env_;
    }
    cache_ = std::move(*cache::BlockCache::Open(co));
    store_ = std::make_unique<StoreTier>(gate_, spec.compression);
    TierChainOptions o;
    o.tiers = cache_->tiers();
    o.tiers.push_back(store_.get());
    o.write_target = store_.get();
    if (!spec.disk_fills_from_store && cache_->disk()) o.no_fills_from_last = {cache_->disk()};
    auto chain = TierChain::Open(o);
    EXPECT_TRUE(chain.ok()) << chain.status().ToString();
    chain_ = std::move(*chain);
  }

  TierChain& chain() { return *chain_; }
  cache::MemoryTier* memory() { return cache_->memory(); }
  cache::DiskTier* disk() { return cache_->disk(); }
  StoreTier& store() { return *store_; }
  GateStore& gate() { return *gate_; }
  object::ObjectStore& mem() { return *mem_; }
  MemEnv& mem_env() { return mem_env_; }
  FaultyEnv& env() { return env_; }
  cache::BlockCache& cache() { return *cache_; }

  // Puts `data` into the store only (not the caches).
  void Store(const std::string& key, const std::string& data) {
    ASSERT_TRUE(store_->Write(key, data, false, {}).ok());
  }
  TierStats Stats(std::string_view tier) {
    for (auto& t : chain_->stats().tiers) {
      if (t.name == tier) return t;
    }
    ADD_FAILURE() << "no tier " << tier;
    return {};
  }
  std::string Read(const std::string& key, uint32_t len) {
    auto r = chain_->Get(key, len);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)->ToString() : "";
  }

 private:
  MemEnv mem_env_;
  FaultyEnv env_;
  std::shared_ptr<object::ObjectStore> mem_;
  std::shared_ptr<GateStore> gate_;
  std::unique_ptr<cache::BlockCache> cache_;
  std::unique_ptr<StoreTier> store_;
  std::unique_ptr<TierChain> chain_;
};

BlockData Shared(const std::string& s) { return BlockBuffer::Share(BlockBuffer::Copy(s)); }

const std::string kKey = BlockKey("vol/", 42, 0, 4096);

TEST(TierChain, LooksUpInOrderAndFillsTheFasterTiersOnTheWayBack) {
  Chain c;
  const std::string data = RandomBytes(4096, 1);
  c.Store(kKey, data);

  EXPECT_EQ(c.Read(kKey, 4096), data);  // memory miss, disk miss, store hit
  EXPECT_EQ(c.gate().whole(), 1);
  EXPECT_EQ(c.Stats("memory").misses, 1u);
  EXPECT_EQ(c.Stats("disk").misses, 1u);
  EXPECT_EQ(c.Stats("store").hits, 1u);
  EXPECT_EQ(c.Stats("memory").fills, 1u);
  EXPECT_EQ(c.Stats("disk").fills, 1u);
  EXPECT_EQ(c.Stats("store").fills, 0u);  // the store takes no fills
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_TRUE(c.disk()->Contains(kKey));

  EXPECT_EQ(c.Read(kKey, 4096), data);  // memory hit
  EXPECT_EQ(c.Stats("memory").hits, 1u);
  EXPECT_EQ(c.Stats("disk").hits, 0u);

  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  EXPECT_EQ(c.Read(kKey, 4096), data);  // disk hit, promoted into memory
  EXPECT_EQ(c.Stats("disk").hits, 1u);
  EXPECT_EQ(c.Stats("memory").fills, 2u);
  EXPECT_EQ(c.Stats("disk").fills, 1u);
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_EQ(c.gate().whole(), 1);  // the store was asked once in all

  // Order: with a (distinguishable) copy in each tier, the first tier's copy is served.
  const std::string key = BlockKey("vol/", 43, 0, 3);
  c.Store(key, "sss");
  ASSERT_TRUE(c.disk()->Put(key, Shared("ddd")).ok());
  ASSERT_TRUE(c.memory()->Put(key, Shared("mmm")).ok());
  EXPECT_EQ(c.Read(key, 3), "mmm");
  ASSERT_TRUE(c.memory()->Remove(key).ok());
  EXPECT_EQ(c.Read(key, 3), "ddd");
  ASSERT_TRUE(c.memory()->Remove(key).ok());
  ASSERT_TRUE(c.disk()->Remove(key).ok());
  EXPECT_EQ(c.Read(key, 3), "sss");
}

// A disk tier that fails on read is logged and skipped; the store serves; the read succeeds.
TEST(TierChain, FailingMiddleTierIsSkipped) {
  Chain c;
  const std::string data = RandomBytes(4096, 2);
  c.Store(kKey, data);
  EXPECT_EQ(c.Read(kKey, 4096), data);  // fills memory and disk
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  c.env().AddRule({.op = FaultOp::kRead, .path_prefix = "/cache", .error = EIO});

  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("disk").errors, 1u);
  EXPECT_EQ(c.Stats("store").hits, 2u);
  EXPECT_EQ(c.gate().whole(), 2);
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_FALSE(c.cache().disk_enabled());  // the failing disk went

  // From now on the disk tier is out of the way: no more errors, reads still served.
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("disk").errors, 1u);
  EXPECT_EQ(c.Stats("store").hits, 3u);
}

// A fill that fails (full cache disk) is counted and logged; the read is not affected.
TEST(TierChain, FailingFillDoesNotFailTheRead) {
  Chain c;
  const std::string data = RandomBytes(4096, 3);
  c.Store(kKey, data);
  c.env().AddRule({.op = FaultOp::kWrite, .path_prefix = "/cache", .error = ENOSPC});
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("disk").fills, 1u);
  EXPECT_EQ(c.Stats("disk").fill_errors, 1u);
  EXPECT_EQ(c.Stats("memory").fill_errors, 0u);
  EXPECT_TRUE(c.memory()->Contains(kKey));
}

// N readers of one missing block at once: one GET reaches the store, all get the bytes.
TEST(TierChain, OneFetchPerBlockForConcurrentReaders) {
  Chain c;
  const std::string data = RandomBytes(4096, 4);
  c.Store(kKey, data);
  constexpr int kReaders = 8;
  c.gate().Close();
  std::vector<std::string> got(kReaders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; i++) {
    threads.emplace_back([&, i] { got[i] = c.Read(kKey, 4096); });
  }
  // Every reader is either at the store or waiting for the one that is.
  EXPECT_TRUE(Eventually(
      [&] { return c.gate().whole() + static_cast<int>(c.chain().stats().shared) >= kReaders; }));
  c.gate().Open();
  for (auto& t : threads) t.join();
  for (int i = 0; i < kReaders; i++) EXPECT_TRUE(got[i] == data) << i;
  EXPECT_EQ(c.gate().whole(), 1);
  EXPECT_EQ(c.chain().stats().shared, static_cast<uint64_t>(kReaders - 1));
  EXPECT_EQ(c.Stats("store").hits, 1u);
  EXPECT_EQ(c.Stats("memory").misses, static_cast<uint64_t>(kReaders));  // each looked once
  EXPECT_EQ(c.Stats("disk").misses, 1u);  // only the one fetch went further
  EXPECT_EQ(c.Stats("disk").fills, 1u);
}

// A partial read of a block whose whole-block fetch is under way (readahead) waits for it
// instead of sending a ranged GET; with nothing under way it is a ranged GET that fills
// nothing.
TEST(TierChain, PartialReadJoinsAWholeBlockFetchUnderWay) {
  Chain c;
  const std::string data = RandomBytes(4096, 5);
  c.Store(kKey, data);
  c.gate().Close();
  std::thread whole([&] { EXPECT_EQ(c.Read(kKey, 4096), data); });
  ASSERT_TRUE(Eventually([&] { return c.gate().whole() == 1; }));
  Result<std::string> part = Status::Internal("not run");
  std::thread partial([&] { part = c.chain().GetRange(kKey, 4096, 100, 50); });
  EXPECT_TRUE(Eventually([&] { return c.chain().stats().shared + c.gate().ranged() >= 1; }));
  c.gate().Open();
  whole.join();
  partial.join();
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(*part, data.substr(100, 50));
  EXPECT_EQ(c.gate().ranged(), 0);
  EXPECT_EQ(c.gate().whole(), 1);

  const std::string other = BlockKey("vol/", 44, 0, 4096);
  c.Store(other, data);
  auto r = c.chain().GetRange(other, 4096, 4000, 96);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, data.substr(4000));
  EXPECT_EQ(c.gate().ranged(), 1);
  EXPECT_FALSE(c.memory()->Contains(other));  // a part is not a block: nothing filled
  // A cached block serves ranges itself.
  EXPECT_EQ(*c.chain().GetRange(kKey, 4096, 0, 10), data.substr(0, 10));
  EXPECT_EQ(c.gate().ranged(), 1);
}

// Compressed volume: the store serves no ranges, so a partial read fetches (and caches) the
// whole block through the single-flight path.
TEST(TierChain, CompressedVolumeReadsWholeBlocksForParts) {
  Chain c({.compression = Compression::kZstd});
  const std::string data(4096, 'z');  // compresses
  c.Store(kKey, data);
  EXPECT_LT(c.mem().Get(kKey, 0, -1)->size(), data.size());
  auto r = c.chain().GetRange(kKey, 4096, 10, 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, data.substr(10, 20));
  EXPECT_EQ(c.gate().ranged(), 0);
  EXPECT_EQ(c.gate().whole(), 1);
  EXPECT_TRUE(c.memory()->Contains(kKey));
}

// A corrupt cache file is never returned: the block is fetched again from the store and the
// good copy replaces the bad one.
TEST(TierChain, CorruptBlockInTheDiskTierIsRefetched) {
  Chain c;
  const std::string data = RandomBytes(4096, 6);
  c.Store(kKey, data);
  EXPECT_EQ(c.Read(kKey, 4096), data);
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  const std::string path = "/cache/blocks/" + kKey;
  std::string file = *c.mem_env().ReadFile(path);
  file[7] ^= 0x20;
  ASSERT_TRUE(c.mem_env().WriteFileAtomic(path, file).ok());

  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("disk").errors, 1u);
  EXPECT_EQ(c.cache().stats().corrupt_dropped, 1u);
  EXPECT_EQ(c.Stats("store").hits, 2u);
  EXPECT_TRUE(c.cache().disk_enabled());  // one bad file is not a bad disk
  EXPECT_TRUE(c.disk()->Contains(kKey));  // refilled with the good copy
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("disk").hits, 1u);
}

// A tier holding a block of another length than its key names is treated as corrupt.
TEST(TierChain, WrongLengthInATierIsDroppedAndRefetched) {
  Chain c;
  const std::string data = RandomBytes(4096, 7);
  c.Store(kKey, data);
  ASSERT_TRUE(c.memory()->Put(kKey, Shared("short")).ok());
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("memory").errors, 1u);
  EXPECT_EQ(c.Stats("store").hits, 1u);
  EXPECT_EQ(**c.memory()->Get(kKey, 4096), data);
}

TEST(TierChain, MissInEveryTierIsNotFoundNamingTheKey) {
  Chain c;
  auto r = c.chain().Get(kKey, 4096);
  EXPECT_TRUE(r.status().Is(Code::kNotFound)) << r.status().ToString();
  EXPECT_NE(r.status().message().find(kKey), std::string_view::npos);
  EXPECT_EQ(c.Stats("memory").misses, 1u);
  EXPECT_EQ(c.Stats("disk").misses, 1u);
  EXPECT_EQ(c.Stats("store").misses, 1u);
  auto part = c.chain().GetRange(kKey, 4096, 0, 10);
  EXPECT_TRUE(part.status().Is(Code::kNotFound));
  EXPECT_NE(part.status().message().find(kKey), std::string_view::npos);
}

// Through the whole data path: a block that metadata references but the store lost.
TEST(TierChain, MissingBlockOfAFileIsNotFoundNamingTheKey) {
  testing::TestVolume vol({.block_size = 64 << 10});
  meta::Ino ino = vol.NewFile("f");
  {
    auto cs = vol.Open();
    ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(100 << 10, 8)).ok());
    ASSERT_TRUE(cs->Flush(ino).ok());
  }
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 2u);
  ASSERT_TRUE(vol.mem()->Delete(keys[1]).ok());
  auto o = vol.Options();
  o.reader.missing_block_wait_ms = 0;  // no wait for a writeback upload (reader.h)
  auto cs = vol.Open(o);
  auto r = cs->Read(ino, 0, 100 << 10, vol.Length(ino), nullptr);
  // EIO for the application: the metadata references a block no tier has.
  EXPECT_TRUE(r.status().Is(Code::kIOError)) << r.status().ToString();
  EXPECT_NE(r.status().message().find(keys[1]), std::string_view::npos);
  EXPECT_EQ(cs->tiers()->stats().tiers.back().misses, 1u);
}

// The last tier's error is the result; an earlier tier's error is the result only when every
// other tier missed (the block may be in the failing tier alone).
TEST(TierChain, ErrorsWhenNoTierServes) {
  std::shared_ptr<object::FaultyStore> faulty;
  Chain c({.faulty = &faulty});
  const std::string data = RandomBytes(4096, 9);
  c.Store(kKey, data);
  faulty->AddRule({.ops = object::OpBit(object::StoreOp::kGet), .code = Code::kUnavailable});
  auto r = c.chain().Get(kKey, 4096);
  EXPECT_TRUE(r.status().Is(Code::kUnavailable)) << r.status().ToString();
  EXPECT_EQ(c.Stats("store").errors, 1u);
  faulty->ClearRules();

  EXPECT_EQ(c.Read(kKey, 4096), data);  // now cached in memory and on disk
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  ASSERT_TRUE(c.mem().Delete(kKey).ok());
  c.env().AddRule({.op = FaultOp::kRead, .path_prefix = "/cache", .error = EIO});
  r = c.chain().Get(kKey, 4096);
  EXPECT_TRUE(r.status().Is(Code::kIOError)) << r.status().ToString();
  EXPECT_EQ(c.Stats("store").misses, 1u);
}

TEST(TierChain, WritesGoToTheWriteTargetAndFillTheCaches) {
  Chain c;
  const std::string data = RandomBytes(4096, 10);
  ASSERT_TRUE(c.chain().Write(kKey, data, /*sync=*/false, /*fill=*/true).ok());
  EXPECT_EQ(*DecodeBlock(*c.mem().Get(kKey, 0, -1), 4096), data);
  EXPECT_EQ(c.Stats("store").writes, 1u);
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_TRUE(c.disk()->Contains(kKey));
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.gate().whole(), 0);  // read-after-write from the cache

  const std::string other = BlockKey("vol/", 45, 0, 4096);
  ASSERT_TRUE(c.chain().Write(other, data, false, /*fill=*/false).ok());
  EXPECT_FALSE(c.memory()->Contains(other));
  EXPECT_FALSE(c.disk()->Contains(other));

  ASSERT_TRUE(c.chain().Remove(kKey).ok());
  EXPECT_FALSE(c.memory()->Contains(kKey));
  EXPECT_FALSE(c.disk()->Contains(kKey));
  EXPECT_TRUE(c.mem().Head(kKey).status().Is(Code::kNotFound));
  EXPECT_TRUE(c.chain().Remove(kKey).ok());  // idempotent
}

// no_fills_from_last: a store hit fills the memory tier only; a disk hit is still promoted,
// and a written block still fills both.
TEST(TierChain, NoDiskFillsFromTheLastTier) {
  Chain c({.disk_fills_from_store = false});
  const std::string data = RandomBytes(4096, 13);
  c.Store(kKey, data);
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_FALSE(c.disk()->Contains(kKey));
  EXPECT_EQ(c.Stats("disk").fills, 0u);
  EXPECT_EQ(c.Stats("memory").fills, 1u);

  const std::string key = BlockKey("vol/", 46, 0, 4096);
  ASSERT_TRUE(c.disk()->Put(key, Shared(data)).ok());
  EXPECT_EQ(c.Read(key, 4096), data);  // disk hit, promoted
  EXPECT_TRUE(c.memory()->Contains(key));

  const std::string written = BlockKey("vol/", 47, 0, 4096);
  ASSERT_TRUE(c.chain().Write(written, data, false, /*fill=*/true).ok());
  EXPECT_TRUE(c.disk()->Contains(written));
  EXPECT_TRUE(c.memory()->Contains(written));
}

TEST(TierChain, FailedWriteIsReportedAndCachesNothing) {
  std::shared_ptr<object::FaultyStore> faulty;
  Chain c({.faulty = &faulty});
  faulty->AddRule({.ops = object::OpBit(object::StoreOp::kPut), .code = Code::kNoSpace});
  Status st = c.chain().Write(kKey, RandomBytes(4096, 11), false, true);
  EXPECT_TRUE(st.Is(Code::kNoSpace)) << st.ToString();
  EXPECT_NE(st.message().find(kKey), std::string_view::npos);
  EXPECT_EQ(c.Stats("store").write_errors, 1u);
  EXPECT_FALSE(c.memory()->Contains(kKey));
}

TEST(TierChain, PrefetchFillsOnceAndNeedsACache) {
  Chain c;
  c.Store(kKey, RandomBytes(4096, 12));
  ASSERT_TRUE(c.chain().Prefetch(kKey, 4096).ok());
  EXPECT_TRUE(c.memory()->Contains(kKey));
  ASSERT_TRUE(c.chain().Prefetch(kKey, 4096).ok());  // cached: nothing to do
  EXPECT_EQ(c.gate().whole(), 1);
  EXPECT_TRUE(c.chain().caches());

  Chain bare({.memory_size = 0, .disk = false});  // the store tier alone
  bare.Store(kKey, RandomBytes(4096, 12));
  EXPECT_FALSE(bare.chain().caches());
  ASSERT_TRUE(bare.chain().Prefetch(kKey, 4096).ok());
  EXPECT_EQ(bare.gate().whole(), 0);  // nowhere to keep it: not fetched
}

// A sequential reader's readahead reads a block the disk holds into memory (the read that
// follows is a memory hit), verified on the way: a corrupt cache file is dropped and the block
// fetched from the store. Prefetch (warmup, a small read's block) leaves a disk-held block
// where it is.
TEST(TierChain, ReadAheadPromotesADiskHitIntoMemoryVerified) {
  Chain c;
  const std::string data = RandomBytes(4096, 13);
  c.Store(kKey, data);
  EXPECT_EQ(c.Read(kKey, 4096), data);  // now in memory and on disk
  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  ASSERT_TRUE(c.chain().Prefetch(kKey, 4096).ok());
  EXPECT_FALSE(c.memory()->Contains(kKey));  // the disk has it: nothing to do
  EXPECT_EQ(c.Stats("disk").hits, 0u);

  ASSERT_TRUE(c.chain().ReadAhead(kKey, 4096).ok());
  EXPECT_TRUE(c.memory()->Contains(kKey));
  EXPECT_EQ(c.Stats("disk").hits, 1u);
  ASSERT_TRUE(c.chain().ReadAhead(kKey, 4096).ok());  // in memory: nothing to do
  EXPECT_EQ(c.Stats("disk").hits, 1u);
  EXPECT_EQ(c.Read(kKey, 4096), data);
  EXPECT_EQ(c.Stats("memory").hits, 1u);
  EXPECT_EQ(c.gate().whole(), 1);  // the store was asked once in all

  ASSERT_TRUE(c.memory()->Remove(kKey).ok());
  const std::string path = "/cache/blocks/" + kKey;
  std::string file = *c.mem_env().ReadFile(path);
  file[100] ^= 0x01;
  ASSERT_TRUE(c.mem_env().WriteFileAtomic(path, file).ok());
  ASSERT_TRUE(c.chain().ReadAhead(kKey, 4096).ok());
  EXPECT_EQ(c.cache().stats().corrupt_dropped, 1u);
  EXPECT_EQ(c.gate().whole(), 2);  // fetched again from the store
  EXPECT_EQ(c.Read(kKey, 4096), data);  // the good bytes, from memory
  EXPECT_EQ(c.Stats("memory").hits, 2u);

  Chain no_memory({.memory_size = 0});  // no head tier to promote into: Prefetch
  no_memory.Store(kKey, data);
  ASSERT_TRUE(no_memory.chain().ReadAhead(kKey, 4096).ok());
  EXPECT_TRUE(no_memory.disk()->Contains(kKey));
  ASSERT_TRUE(no_memory.chain().ReadAhead(kKey, 4096).ok());
  EXPECT_EQ(no_memory.Stats("disk").hits, 0u);  // cached: not read again
  EXPECT_EQ(no_memory.gate().whole(), 1);
}

TEST(TierChain, OptionsValidate) {
  cache::MemoryTier memory(100);
  TierChainOptions o;
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));  // no tiers
  o.tiers = {&memory, nullptr};
  o.write_target = &memory;
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));  // a null tier
  cache::MemoryTier other(100);
  o.tiers = {&memory};
  o.write_target = &other;
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));  // target not in the chain
  EXPECT_FALSE(TierChain::Open(o).ok());
  o.write_target = &memory;
  EXPECT_TRUE(o.Validate().ok());
  o.no_fills_from_last = {&memory};  // the last tier itself
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  o.tiers = {&other, &memory};
  o.no_fills_from_last = {&other};
  EXPECT_TRUE(o.Validate().ok());
}

}  // namespace
}  // namespace strata::chunk
