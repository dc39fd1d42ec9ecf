#include "cache/block_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

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

CacheOptions DiskOnly(const std::string& dir, uint64_t size = 1 << 20) {
  CacheOptions o;
  o.memory_size = 0;
  o.cache_dir = dir;
  o.cache_size = size;
  o.free_space_ratio = 0;
  return o;
}

TEST(BlockCache, MemoryTierHitAndMiss) {
  CacheOptions o;
  o.memory_size = 1 << 20;
  auto cache = BlockCache::Open(o);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  EXPECT_EQ((*cache)->Get("v/chunks/0/0/1_0_10"), nullptr);
  (*cache)->Put("v/chunks/0/0/1_0_10", std::string_view("0123456789"));
  auto hit = (*cache)->Get("v/chunks/0/0/1_0_10");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, "0123456789");
  EXPECT_EQ((*cache)->stats().memory_hits, 1u);
  EXPECT_EQ((*cache)->stats().misses, 1u);
  EXPECT_FALSE((*cache)->disk_enabled());
}

TEST(BlockCache, MemoryTierEvictsLeastRecentlyUsed) {
  CacheOptions o;
  o.memory_size = 3000;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("a", Block(1000, 'a'));
  cache->Put("b", Block(1000, 'b'));
  cache->Put("c", Block(1000, 'c'));
  ASSERT_NE(cache->Get("a"), nullptr);  // a is now the most recent
  cache->Put("d", Block(1000, 'd'));    // evicts b
  EXPECT_TRUE(cache->Contains("a"));
  EXPECT_FALSE(cache->Contains("b"));
  EXPECT_TRUE(cache->Contains("d"));
  EXPECT_LE(cache->stats().memory_bytes, 3000u);
}

TEST(BlockCache, DiskIndexRebuiltAfterRestart) {
  TempDir dir;
  std::string data = Block(5000, 'x');
  {
    auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
    cache->Put("vol/chunks/0/0/7_0_5000", data);
    cache->Put("vol/chunks/0/0/7_1_5000", Block(5000, 'y'));
    EXPECT_TRUE(cache->disk_enabled());
  }
  // A crash in the middle of a write leaves a temporary file: it must not be indexed.
  std::ofstream(dir.path() + "/blocks/vol/chunks/0/0/8_0_10.tmp.3") << "partial";
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  EXPECT_EQ(cache->stats().disk_blocks, 2u);
  EXPECT_EQ(cache->stats().disk_bytes, 10000u);
  auto hit = cache->Get("vol/chunks/0/0/7_0_5000");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, data);
  EXPECT_EQ(cache->stats().disk_hits, 1u);
  EXPECT_FALSE(fs::exists(dir.path() + "/blocks/vol/chunks/0/0/8_0_10.tmp.3"));
}

TEST(BlockCache, CorruptDiskFileIsDroppedNotReturned) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path())));
  const std::string key = "vol/chunks/0/0/9_0_4096";
  cache->Put(key, Block(4096, 'q'));
  std::string path = dir.path() + "/blocks/" + key;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('!');  // flip one byte of the block
  }
  EXPECT_EQ(cache->Get(key), nullptr);
  EXPECT_EQ(cache->stats().corrupt_dropped, 1u);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(cache->Contains(key));
  // Truncated file: also a miss.
  cache->Put(key, Block(4096, 'q'));
  fs::resize_file(path, 50);
  EXPECT_EQ(cache->Get(key), nullptr);
  EXPECT_EQ(cache->stats().corrupt_dropped, 2u);
}

TEST(BlockCache, DiskEvictionKeepsWithinCacheSize) {
  TempDir dir;
  auto cache = std::move(*BlockCache::Open(DiskOnly(dir.path(), 10 * 1024)));
  for (int i = 0; i < 20; i++) {
    cache->Put("k/" + std::to_string(i), Block(1024, static_cast<char>(i)));
  }
  CacheStats s = cache->stats();
  EXPECT_LE(s.disk_bytes, 10u * 1024);
  EXPECT_GE(s.disk_blocks, 8u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_TRUE(cache->Contains("k/19"));
  EXPECT_FALSE(cache->Contains("k/0"));
  EXPECT_FALSE(fs::exists(dir.path() + "/blocks/k/0"));
  // Files on disk match the index.
  size_t files = 0;
  for (auto& e : fs::recursive_directory_iterator(dir.path() + "/blocks")) {
    if (e.is_regular_file()) files++;
  }
  EXPECT_EQ(files, s.disk_blocks);
}

TEST(BlockCache, FreeSpaceRatioKeepsDiskTierEmptyWhenFull) {
  TempDir dir;
  CacheOptions o = DiskOnly(dir.path());
  o.free_space_ratio = 0.999999;  // no real file system is this empty
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("k/a", Block(1024, 'a'));
  EXPECT_EQ(cache->stats().disk_blocks, 0u);
  EXPECT_TRUE(cache->disk_enabled());
}

TEST(BlockCache, FailingDiskDisablesTierButReadsContinue) {
  TempDir dir;
  CacheOptions o = DiskOnly(dir.path());
  o.memory_size = 1 << 20;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("k/a", Block(1024, 'a'));
  // The cache disk goes away under us (as an unmounted or failed disk would).
  fs::remove_all(dir.path());
  std::ofstream(dir.path()) << "not a directory";
  cache->Put("k/b/c", Block(1024, 'b'));
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  auto hit = cache->Get("k/b/c");  // still served from memory
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, Block(1024, 'b'));
  fs::remove(dir.path());
}

TEST(BlockCache, UnsafeKeysStayInMemory) {
  TempDir dir;
  CacheOptions o = DiskOnly(dir.path());
  o.memory_size = 1 << 20;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("../escape", Block(10, 'e'));
  cache->Put("a//b", Block(10, 'e'));
  EXPECT_EQ(cache->stats().disk_blocks, 0u);
  EXPECT_FALSE(fs::exists(dir.path() + "/escape"));
  EXPECT_NE(cache->Get("../escape"), nullptr);
}

// The disk tier runs on any Env: here wholly in memory.
TEST(BlockCache, DiskTierOnMemEnvSurvivesRestart) {
  MemEnv env;
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  {
    auto cache = std::move(*BlockCache::Open(o));
    cache->Put("vol/chunks/0/0/7_0_5000", Block(5000, 'x'));
    EXPECT_TRUE(cache->disk_enabled());
  }
  ASSERT_TRUE(env.WriteFileAtomic("/cache/blocks/vol/chunks/0/0/8_0_10.tmp.1.2.3", "partial").ok());
  auto cache = std::move(*BlockCache::Open(o));
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  auto hit = cache->Get("vol/chunks/0/0/7_0_5000");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, Block(5000, 'x'));
  EXPECT_EQ(env.Stat("/cache/blocks/vol/chunks/0/0/8_0_10.tmp.1.2.3").status().code(),
            Code::kNotFound);
}

// A full cache disk (ENOSPC on write): the tier is dropped, blocks are still cached in
// memory, and the disk is not touched again.
TEST(BlockCache, FullCacheDiskDisablesTierMemoryStillServes) {
  MemEnv mem;
  FaultyEnv env(&mem);
  CacheOptions o = DiskOnly("/cache");
  o.memory_size = 1 << 20;
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("k/a", Block(1024, 'a'));
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  env.AddRule({.op = FaultOp::kWrite, .path_prefix = "/cache", .error = ENOSPC});
  cache->Put("k/b", Block(1024, 'b'));
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  EXPECT_EQ(env.faults_injected(), 1u);
  auto hit = cache->Get("k/b");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, Block(1024, 'b'));
  cache->Put("k/c", Block(1024, 'c'));
  EXPECT_EQ(env.faults_injected(), 1u);  // a disabled tier does no more I/O
  // No temporary file was left behind by the failed write.
  auto names = mem.ListDir("/cache/blocks/k");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0].name, "a");
}

// A failing cache disk on read (EIO): a miss, never an error or wrong bytes; the tier goes.
TEST(BlockCache, ReadErrorIsAMissAndDisablesTier) {
  MemEnv mem;
  FaultyEnv env(&mem);
  CacheOptions o = DiskOnly("/cache");
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("k/a", Block(4096, 'a'));
  ASSERT_NE(cache->Get("k/a"), nullptr);
  env.AddRule({.op = FaultOp::kRead, .path_prefix = "/cache", .error = EIO});
  EXPECT_EQ(cache->Get("k/a"), nullptr);
  EXPECT_FALSE(cache->disk_enabled());
  EXPECT_EQ(cache->stats().disk_errors, 1u);
  EXPECT_EQ(cache->stats().corrupt_dropped, 0u);
}

// The free-space ratio is read from the Env: a nearly full MemEnv keeps the tier empty.
TEST(BlockCache, FreeSpaceRatioUsesEnvSpace) {
  MemEnv::Options mo;
  mo.capacity_bytes = 100 << 10;
  MemEnv env(mo);
  CacheOptions o = DiskOnly("/cache", 1 << 20);
  o.free_space_ratio = 0.5;
  o.env = &env;
  auto cache = std::move(*BlockCache::Open(o));
  cache->Put("k/a", Block(30 << 10, 'a'));  // leaves 70 KiB of 100 free: allowed
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  cache->Put("k/b", Block(30 << 10, 'b'));  // would leave 40 KiB < 50: evicts k/a first
  EXPECT_EQ(cache->stats().disk_blocks, 1u);
  EXPECT_TRUE(cache->Contains("k/b"));
  EXPECT_FALSE(cache->Contains("k/a"));
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
