// The local cache's tiers through the BlockTier interface (block_tier.h), and BlockCache's
// wiring of them. Lookup order, fills and promotion are the chain's, tested with a real store
// tier in chunk/tier_chain_test.cc.
#include "cache/block_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cache/disk_tier.h"
#include "cache/memory_tier.h"
#include "common/crc32c.h"
#include "common/faulty_env.h"
#include "common/mem_env.h"

namespace strata::cache {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "strata-cache-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Block(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

BlockData Data(size_t n, char seed) {
  return BlockBuffer::Share(BlockBuffer::Adopt(Block(n, seed)));
}

CacheOptions DiskOnly(const std::string& dir, uint64_t size = 1 << 20) {
  CacheOptions o;
  o.memory_size = 0;
  o.cache_dir = dir;
  o.cache_size = size;
  o.free_space_ratio = 0;
  return o;
}

// The bytes a tier holds under key, or "" on a miss (asserting it was a miss, not an error).
std::string Held(BlockTier& tier, const std::string& key, uint32_t len) {
  auto r = tier.Get(key, len);
  if (!r.ok()) {
    EXPECT_TRUE(r.status().Is(Code::kNotFound)) << r.status().ToString();
    return "";
  }
  return (*r)->ToString();
}

TEST(MemoryTier, MissIsNotFoundHitIsTheSameBuffer) {
  MemoryTier tier(1 << 20);
  EXPECT_EQ(tier.Name(), "memory");
  EXPECT_TRUE(tier.WantsFill());
  EXPECT_TRUE(tier.Get("v/chunks/0/0/1_0_10", 10).status().Is(Code::kNotFound));
  auto data = BlockBuffer::Share(BlockBuffer::Copy("0123456789"));
  ASSERT_TRUE(tier.Put("v/chunks/0/0/1_0_10", data).ok());
  auto hit = tier.Get("v/chunks/0/0/1_0_10", 10);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->get(), data.get());  // no copy
  EXPECT_EQ(tier.bytes(), 10u);
  ASSERT_TRUE(tier.Remove("v/chunks/0/0/1_0_10").ok());
  EXPECT_FALSE(tier.Contains("v/chunks/0/0/1_0_10"));
  EXPECT_TRUE(tier.Remove("never").ok());
  EXPECT_FALSE(MemoryTier(0).WantsFill());
}

TEST(MemoryTier, EvictsLeastRecentlyUsed) {
  MemoryTier tier(3000);
  ASSERT_TRUE(tier.Put("a", Data(1000, 'a')).ok());
  ASSERT_TRUE(tier.Put("b", Data(1000, 'b')).ok());
  ASSERT_TRUE(tier.Put("c", Data(1000, 'c')).ok());
  ASSERT_TRUE(tier.Get("a", 1000).ok());             // a is now the most recent
  ASSERT_TRUE(tier.Put("d", Data(1000, 'd')).ok());  // evicts b
  EXPECT_TRUE(tier.Contains("a"));
  EXPECT_FALSE(tier.Contains("b"));
  EXPECT_TRUE(tier.Contains("d"));
  EXPECT_LE(tier.bytes(), 3000u);
  EXPECT_EQ(tier.evictions(), 1u);
  ASSERT_TRUE(tier.Put("huge", Data(4000, 'h')).ok());  // declined: larger than the tier
  EXPECT_FALSE(tier.Contains("huge"));
}

TEST(BlockCache, TiersFollowTheOptions) {
  CacheOptions o;
  o.memory_size = 1 << 20;
  auto memory_only = std::move(*BlockCache::Open(o));
  ASSERT_EQ(memory_only->tiers().size(), 1u);
  EXPECT_EQ(memory_only->tiers()[0]->Name(), "memory");
  EXPECT_EQ(memory_only->disk(), nullptr);
  EXPECT_FALSE(memory_only->disk_enabled());

  MemEnv env;
  o.cache_dir = "/cache";
  o.env = &env;
  auto both = std::move(*BlockCache::Open(o));
  ASSERT_EQ(both->tiers().size(), 2u);
  EXPECT_EQ(both->tiers()[0]->Name(), "memory");
  EXPECT_EQ(both->tiers()[1]->Name(), "disk");
  EXPECT_TRUE(both->disk_enabled());

  o.memory_size = 0;
  auto disk_only = std::move(*BlockCache::Open(o));
  ASSERT_EQ(disk_only->tiers().size(), 1u);
  EXPECT_EQ(disk_only->memory(), nullptr);

  ASSERT_TRUE(both->tiers()[0]->Put("k/a", Data(100, 'a')).ok());
  ASSERT_TRUE(both->tiers()[1]->Put("k/a", Data(100, 'a')).ok());
  CacheStats s = both->stats();
  EXPECT_EQ(s.memory_bytes, 100u);
  EXPECT_EQ(s.disk_bytes, 100u);
  EXPECT_EQ(s.disk_blocks, 1u);
}

TEST(DiskTier, IndexRebuiltAfterRestart) {
  TempDir dir;
  std::string data = Block(5000, 'x');
  {
    auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
    DiskTier& disk = *cache->disk();
    ASSERT_TRUE(
        disk.Put("vol/chunks/0/0/7_0_5000", BlockBuffer::Share(BlockBuffer::Copy(data))).ok());
    ASSERT_TRUE(disk.Put("vol/chunks/0/0/7_1_5000", Data(5000, 'y')).ok());
    EXPECT_TRUE(cache->disk_enabled());
  }
  // A crash in the middle of a write leaves a temporary file: it must not be indexed.
  std::ofstream(dir.path() + "/blocks/vol/chunks/0/0/8_0_10.tmp.3") << "partial";
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  EXPECT_EQ(cache->stats().disk_blocks, 2u);
  EXPECT_EQ(cache->stats().disk_bytes, 10000u);
  EXPECT_EQ(Held(*cache->disk(), "vol/chunks/0/0/7_0_5000", 5000), data);
  EXPECT_FALSE(fs::exists(dir.path() + "/blocks/vol/chunks/0/0/8_0_10.tmp.3"));
}

TEST(DiskTier, CorruptFileIsDroppedNotReturned) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  DiskTier& disk = *cache->disk();
  const std::string key = "vol/chunks/0/0/9_0_4096";
  ASSERT_TRUE(disk.Put(key, Data(4096, 'q')).ok());
  std::string path = dir.path() + "/blocks/" + key;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('!');  // flip one byte of the block
  }
  auto r = disk.Get(key, 4096);
  EXPECT_TRUE(r.status().Is(Code::kCorruption)) << r.status().ToString();
  EXPECT_NE(r.status().message().find(key), std::string_view::npos);
  EXPECT_EQ(cache->stats().corrupt_dropped, 1u);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(disk.Contains(key));
  EXPECT_TRUE(disk.enabled());  // a bad file is not a bad disk
  // Truncated file: also corrupt, never returned.
  ASSERT_TRUE(disk.Put(key, Data(4096, 'q')).ok());
  fs::resize_file(path, 50);
  EXPECT_TRUE(disk.Get(key, 4096).status().Is(Code::kCorruption));
  EXPECT_EQ(cache->stats().corrupt_dropped, 2u);
}

// Hits are read past the page cache (O_DIRECT, in 4 KiB-aligned reads): a whole 4 MiB block
// comes back intact, and a flipped byte in its last, partial page, or in the trailer, is still
// caught and the file dropped.
TEST(DiskTier, LargeBlockHitsAreVerifiedOnTheUncachedRead) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path(), 64 << 20)));
  DiskTier& disk = *cache->disk();
  const uint32_t n = 4 << 20;
  const std::string data = Block(n, 'L');
  const std::string key = "vol/chunks/0/0/11_0_4194304";
  const std::string path = dir.path() + "/blocks/" + key;
  for (uint64_t flip : {uint64_t{0}, uint64_t{n - 3}, uint64_t{n + 2}}) {
    ASSERT_TRUE(disk.Put(key, BlockBuffer::Share(BlockBuffer::Copy(data))).ok());
    EXPECT_EQ(Held(disk, key, n), data);  // and again: the file is read each time
    EXPECT_EQ(Held(disk, key, n), data);
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(flip));
      char c = static_cast<char>(f.get());
      f.seekp(static_cast<std::streamoff>(flip));
      f.put(static_cast<char>(c ^ 0x20));
    }
    auto r = disk.Get(key, n);
    EXPECT_TRUE(r.status().Is(Code::kCorruption)) << flip << ": " << r.status().ToString();
    EXPECT_FALSE(fs::exists(path)) << flip;
  }
  EXPECT_EQ(cache->stats().corrupt_dropped, 3u);
  EXPECT_TRUE(disk.enabled());
}

TEST(DiskTier, EvictionKeepsWithinCacheSize) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path(), 10 * 1024)));
  DiskTier& disk = *cache->disk();
  for (int i = 0; i < 20; i++) {
    ASSERT_TRUE(disk.Put("k/" + std::to_string(i), Data(1024, static_cast<char>(i))).ok());
  }
  CacheStats s = cache->stats();
  EXPECT_LE(s.disk_bytes, 10u * 1024);
  EXPECT_GE(s.disk_blocks, 8u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_TRUE(disk.Contains("k/19"));
  EXPECT_FALSE(disk.Contains("k/0"));
  EXPECT_FALSE(fs::exists(dir.path() + "/blocks/k/0"));
  // Files on disk match the index.
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(dir.path() + "/blocks")) {
    if (e.is_regular_file()) files++;
  }
  EXPECT_EQ(files, s.disk_blocks);
}

TEST(DiskTier, FreeSpaceRatioKeepsTierEmptyWhenFull) {
  TempDir dir;
  CacheOptions o = DiskOnly(dir.path());
  o.free_space_ratio = 0.999999;  // no real file system is this empty
  auto cache = std::move(*BlockCache::Open(o));
  EXPECT_TRUE(cache->disk()->Put("k/a", Data(1024, 'a')).ok());  // declined, not failed
  EXPECT_EQ(cache->stats().disk_blocks, 0u);
  EXPECT_TRUE(cache->disk_enabled());
}

// The cache disk goes away under us (as an unmounted or failed disk would): the write fails,
// the tier turns itself off, and from then on it misses and declines without I/O.
TEST(DiskTier, VanishedDirectoryDisablesTier) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  DiskTier& disk = *cache->disk();
  ASSERT_TRUE(disk.Put("k/a", Data(1024, 'a')).ok());
  fs::remove_all(dir.path());
  std::ofstream(dir.path()) << "not a directory";
  Status st = disk.Put("k/b/c", Data(1024, 'b'));
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_FALSE(disk.WantsFill());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  EXPECT_TRUE(disk.Get("k/a", 1024).status().Is(Code::kNotFound));
  EXPECT_TRUE(disk.Put("k/d", Data(10, 'd')).ok());  // declined
  fs::remove(dir.path());
}

TEST(DiskTier, UnsafeKeysAreDeclined) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  EXPECT_TRUE(cache->disk()->Put("../escape", Data(10, 'e')).ok());
  EXPECT_TRUE(cache->disk()->Put("a//b", Data(10, 'e')).ok());
  EXPECT_TRUE(cache->disk()->Put("a/x.tmp.1", Data(10, 'e')).ok());
  EXPECT_EQ(cache->stats().disk_blocks, 0u);
  EXPECT_FALSE(fs::exists(dir.path() + "/escape"));
  EXPECT_TRUE(cache->disk_enabled());
}

// The disk tier runs on any Env: here wholly in memory.
TEST(DiskTier, OnMemEnvSurvivesRestart) {
  MemEnv env;
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  {
    auto cache = std::move(*BlockCache::Open(o));
    ASSERT_TRUE(cache->disk()->Put("vol/chunks/0/0/7_0_5000", Data(5000, 'x')).ok());
    EXPECT_TRUE(cache->disk_enabled());
  }
  ASSERT_TRUE(env.WriteFileAtomic("/cache/blocks/vol/chunks/0/0/8_0_10.tmp.1.2.3", "partial").ok());
  auto cache = std::move(*BlockCache::Open(o));
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  EXPECT_EQ(Held(*cache->disk(), "vol/chunks/0/0/7_0_5000", 5000), Block(5000, 'x'));
  EXPECT_EQ(env.Stat("/cache/blocks/vol/chunks/0/0/8_0_10.tmp.1.2.3").status().code(),
            Code::kNotFound);
}

// OpenStored hands out the cache file and the CRC stored in its trailer without reading the
// block; a file of the wrong length for its key is dropped rather than handed out.
TEST(DiskTier, OpenStoredGivesTheFileAndItsStoredCrc) {
  MemEnv env;
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  const std::string key = "vol/chunks/0/0/7_0_5000";
  ASSERT_TRUE(cache->disk()->Put(key, Data(5000, 'x')).ok());
  auto st = cache->disk()->OpenStored(key, 5000);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->crc, Crc32c(Block(5000, 'x')));
  EXPECT_EQ(st->file->NativeFd(), -1);  // MemEnv: the server sends it through a buffer
  EXPECT_EQ(*st->file->Read(0, 5000), Block(5000, 'x'));
  EXPECT_EQ(cache->disk()->OpenStored("vol/chunks/0/0/9_0_10", 10).status().code(),
            Code::kNotFound);
  // The length its caller expects is not the file's: corrupt, deleted, never handed out.
  EXPECT_EQ(cache->disk()->OpenStored(key, 4999).status().code(), Code::kCorruption);
  EXPECT_FALSE(cache->disk()->Contains(key));
  EXPECT_EQ(cache->disk()->corrupt_dropped(), 1u);
}

// A full cache disk (ENOSPC on write): the Put reports it, the tier is dropped, and the disk
// is not touched again.
TEST(DiskTier, FullCacheDiskDisablesTier) {
  MemEnv mem;
  FaultyEnv env(&mem);
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  DiskTier& disk = *cache->disk();
  ASSERT_TRUE(disk.Put("k/a", Data(1024, 'a')).ok());
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  env.AddRule({.op = FaultOp::kWrite, .path_prefix = "/cache", .error = ENOSPC});
  Status st = disk.Put("k/b", Data(1024, 'b'));
  EXPECT_TRUE(st.Is(Code::kNoSpace)) << st.ToString();
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  EXPECT_EQ(env.faults_injected(), 1u);
  EXPECT_TRUE(disk.Put("k/c", Data(1024, 'c')).ok());
  EXPECT_TRUE(disk.Get("k/a", 1024).status().Is(Code::kNotFound));
  EXPECT_EQ(env.faults_injected(), 1u);  // a disabled tier does no more I/O
  // No temporary file was left behind by the failed write.
  auto names = mem.ListDir("/cache/blocks/k");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0].name, "a");
}

// A failing cache disk on read (EIO): an error (never wrong bytes), and the tier goes.
TEST(DiskTier, ReadErrorIsAnErrorAndDisablesTier) {
  MemEnv mem;
  FaultyEnv env(&mem);
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  DiskTier& disk = *cache->disk();
  ASSERT_TRUE(disk.Put("k/a", Data(4096, 'a')).ok());
  ASSERT_TRUE(disk.Get("k/a", 4096).ok());
  env.AddRule({.op = FaultOp::kRead, .path_prefix = "/cache", .error = EIO});
  auto r = disk.Get("k/a", 4096);
  EXPECT_TRUE(r.status().Is(Code::kIOError)) << r.status().ToString();
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  EXPECT_EQ(cache->stats().corrupt_dropped, 0u);
  EXPECT_TRUE(disk.Get("k/a", 4096).status().Is(Code::kNotFound));  // disabled: a quiet miss
}

// The free-space ratio is read from the Env: a nearly full MemEnv keeps the tier small.
TEST(DiskTier, FreeSpaceRatioUsesEnvSpace) {
  MemEnv::Options mo;
  mo.capacity_bytes = 100 << 10;
  MemEnv env(mo);
  CacheOptions o = DiskOnly("/cache", 1 << 20);
  o.free_space_ratio = 0.5;
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  DiskTier& disk = *cache->disk();
  ASSERT_TRUE(disk.Put("k/a", Data(30 << 10, 'a')).ok());  // leaves 70 KiB of 100 free
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  ASSERT_TRUE(disk.Put("k/b", Data(30 << 10, 'b')).ok());  // would leave 40 < 50: evicts k/a
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  EXPECT_TRUE(disk.Contains("k/b"));
  EXPECT_FALSE(disk.Contains("k/a"));
  EXPECT_TRUE(cache->disk_enabled());
}

TEST(CacheOptions, Validate) {
  CacheOptions o;
  o.free_space_ratio = 1.5;
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  EXPECT_FALSE(BlockCache::Open(o).ok());
  o.free_space_ratio = 0.1;
  EXPECT_TRUE(o.Validate().ok());
}

}  // namespace
}  // namespace strata::cache
