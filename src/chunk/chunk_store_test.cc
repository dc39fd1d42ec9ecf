// The data path end to end against a real Meta (memkv) and a mem:// store.
#include "chunk/chunk_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "chunk/test_volume.h"

namespace strata::chunk {
namespace {

using testing::RandomBytes;
using testing::TestVolume;
using testing::VolumeSpec;

constexpr uint64_t kMiB = 1 << 20;

TEST(ChunkStore, SequentialWriteAcrossChunksReadsBackExactly) {
  TestVolume vol({.block_size = 4 << 20});
  ChunkOptions o = vol.Options();
  o.writer.buffer_size = 32 * kMiB;  // far less than the file: back-pressure must work
  o.writer.max_uploads = 4;
  auto cs = vol.Open(o);
  meta::Ino ino = vol.NewFile("big");
  const uint64_t size = 100 * kMiB;
  const std::string data = RandomBytes(size, 42);
  for (uint64_t off = 0; off < size; off += kMiB) {
    ASSERT_TRUE(cs->Write(ino, off, std::string_view(data).substr(off, kMiB)).ok());
    EXPECT_LE(cs->writer()->buffered_bytes(), 32 * kMiB + kMiB);
  }
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(vol.Length(ino), size);
  EXPECT_EQ(cs->writer()->buffered_bytes(), 0u);
  // Every stored object is a well-formed block key.
  auto keys = vol.BlockObjects();
  EXPECT_GE(keys.size(), 25u);
  for (auto& k : keys) EXPECT_TRUE(ParseBlockKey("vol/", k).ok()) << k;

  // Read back through a fresh client (nothing cached), sequentially with readahead.
  auto reader = vol.Open();
  ReadState state;
  std::string back;
  for (uint64_t off = 0; off < size; off += 3 * kMiB) {
    auto r = reader->Read(ino, off, 3 * kMiB, size, &state);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    back += *r;
  }
  ASSERT_EQ(back.size(), size);
  EXPECT_TRUE(back == data);
  // A read across the chunk boundary at 64 MiB.
  auto r = reader->Read(ino, 64 * kMiB - 100, 200, size, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, data.substr(64 * kMiB - 100, 200));
}

TEST(ChunkStore, RandomOverwritesMatchAModel) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("model");
  std::string model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; i++) {
    uint64_t off = rng() % (3 * kMiB);
    size_t len = 1 + rng() % (200 << 10);
    std::string bytes = RandomBytes(len, i);
    ASSERT_TRUE(cs->Write(ino, off, bytes).ok());
    if (model.size() < off + len) model.resize(off + len, '\0');
    model.replace(off, len, bytes);
    if (i % 37 == 0) {
      ASSERT_TRUE(cs->Flush(ino).ok());
    }
    if (i % 10 == 0) {  // read-your-writes at any moment, flushed or not
      uint64_t ro = rng() % model.size();
      size_t rl = 1 + rng() % (300 << 10);
      auto r = cs->Read(ino, ro, rl, vol.Length(ino), nullptr);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(*r, model.substr(ro, rl)) << "read at " << ro << " after write " << i;
    }
  }
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(vol.Length(ino), model.size());
  EXPECT_TRUE(vol.ReadAll(*cs, ino) == model);
  auto fresh = vol.Open();
  EXPECT_TRUE(vol.ReadAll(*fresh, ino) == model);
}

TEST(ChunkStore, ReadYourWritesBeforeFlush) {
  TestVolume vol;
  ChunkOptions o = vol.Options();
  o.writer.idle_ms = o.writer.freeze_after_ms = 600000;  // only Flush commits in this test
  auto cs = vol.Open(o);
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, "hello world").ok());
  EXPECT_EQ(vol.Length(ino), 0u);  // nothing committed yet
  EXPECT_EQ(cs->PendingEnd(ino), 11u);
  EXPECT_EQ(*cs->Read(ino, 0, 100, 0, nullptr), "hello world");
  // Another client does not see uncommitted data (close-to-open).
  auto other = vol.Open();
  EXPECT_EQ(*other->Read(ino, 0, 100, vol.Length(ino), nullptr), "");
  // An overwrite starts a second slice; the first may commit meanwhile: reads stay exact.
  ASSERT_TRUE(cs->Write(ino, 6, "WORLD").ok());
  ASSERT_TRUE(cs->Write(ino, 20, "!").ok());
  auto r = cs->Read(ino, 0, 100, vol.Length(ino), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::string("hello WORLD") + std::string(9, '\0') + "!");
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_FALSE(cs->writer()->HasPending(ino));
  other->InvalidateFile(ino);
  EXPECT_EQ(*other->Read(ino, 0, 100, vol.Length(ino), nullptr),
            std::string("hello WORLD") + std::string(9, '\0') + "!");
}

TEST(ChunkStore, HolesReadAsZeros) {
  TestVolume vol;
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("sparse");
  ASSERT_TRUE(cs->Write(ino, 10, "abc").ok());
  ASSERT_TRUE(cs->Write(ino, 70 * kMiB + 5, "xyz").ok());  // in the second chunk
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(vol.Length(ino), 70 * kMiB + 8);
  auto fresh = vol.Open();
  auto r = fresh->Read(ino, 0, 16, vol.Length(ino), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::string(10, '\0') + "abc" + std::string(3, '\0'));
  r = fresh->Read(ino, 64 * kMiB - 2, 4, vol.Length(ino), nullptr);
  EXPECT_EQ(*r, std::string(4, '\0'));
  r = fresh->Read(ino, 70 * kMiB, 100, vol.Length(ino), nullptr);
  EXPECT_EQ(*r, std::string(5, '\0') + "xyz");  // clipped at the length
  // Only the written bytes are stored.
  EXPECT_EQ(vol.BlockObjects().size(), 2u);
}

class CompressionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CompressionTest, RoundTripAndStoresLess) {
  TestVolume vol({.block_size = 256 << 10, .compression = GetParam()});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("text");
  std::string text;
  while (text.size() < 3 * kMiB) text += "line " + std::to_string(text.size()) + " of text\n";
  ASSERT_TRUE(cs->Write(ino, 0, text).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  uint64_t stored = 0;
  for (auto& k : vol.BlockObjects()) stored += vol.mem()->Head(k)->size;
  EXPECT_LT(stored, text.size() / 2);
  auto fresh = vol.Open();
  EXPECT_TRUE(vol.ReadAll(*fresh, ino) == text);
  auto part = fresh->Read(ino, 300000, 1000, text.size(), nullptr);  // partial block
  EXPECT_EQ(*part, text.substr(300000, 1000));
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressionTest, ::testing::Values("lz4", "zstd"));

TEST(ChunkStore, FailedUploadsFailFlushAndLeaveNothingBehind) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  object::FaultRule rule;
  rule.ops = object::OpBit(object::StoreOp::kPut);
  rule.code = Code::kIOError;
  rule.skip = 2;  // two blocks get stored, then uploads fail
  vol.faulty()->AddRule(rule);
  std::string data = RandomBytes(5 * (64 << 10) + 100, 1);
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  Status st = cs->Flush(ino);
  EXPECT_TRUE(st.Is(Code::kIOError)) << st.ToString();
  EXPECT_TRUE(vol.meta()->ReadChunk(ino, 0)->empty());  // nothing committed
  EXPECT_EQ(vol.Length(ino), 0u);
  EXPECT_TRUE(vol.BlockObjects().empty());  // stored blocks were deleted
  EXPECT_EQ(cs->writer()->buffered_bytes(), 0u);
  // The error was reported once; the file works again once the store does.
  vol.faulty()->ClearRules();
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == data);
}

TEST(ChunkStore, FailedCommitDeletesUploadedBlocks) {
  TestVolume vol({.block_size = 64 << 10, .capacity_bytes = 100000});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(300000, 2)).ok());
  Status st = cs->Flush(ino);
  EXPECT_TRUE(st.Is(Code::kNoSpace)) << st.ToString();
  EXPECT_TRUE(vol.BlockObjects().empty());
  EXPECT_EQ(vol.Length(ino), 0u);
  ASSERT_TRUE(cs->Write(ino, 0, "small").ok());  // within capacity
  EXPECT_TRUE(cs->Fsync(ino).ok());
  EXPECT_EQ(vol.Length(ino), 5u);
}

TEST(ChunkStore, CorruptStoredBlockIsReportedAsCorruption) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(64 << 10, 3)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  auto keys = vol.BlockObjects();
  ASSERT_EQ(keys.size(), 1u);
  std::string body = *vol.mem()->Get(keys[0], 0, -1);
  body[1000] ^= 1;
  ASSERT_TRUE(vol.mem()->Put(keys[0], body, {}).ok());
  auto fresh = vol.Open();
  auto r = fresh->Read(ino, 0, 64 << 10, vol.Length(ino), nullptr);
  EXPECT_TRUE(r.status().Is(Code::kCorruption)) << r.status().ToString();
  EXPECT_NE(r.status().message().find(keys[0]), std::string_view::npos);
}

TEST(ChunkStore, CorruptCacheFileIsRefetched) {
  TestVolume vol({.block_size = 64 << 10});
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("strata-chunk-cache-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  ChunkOptions o = vol.Options();
  o.cache.memory_size = 0;
  o.cache.cache_dir = dir;
  o.cache.free_space_ratio = 0;
  o.blocks.cache_written_blocks = false;
  const std::string data = RandomBytes(64 << 10, 4);
  meta::Ino ino = vol.NewFile("f");
  {
    auto cs = vol.Open(o);
    ASSERT_TRUE(cs->Write(ino, 0, data).ok());
    ASSERT_TRUE(cs->Flush(ino).ok());
    ASSERT_EQ(*cs->Read(ino, 0, data.size(), data.size(), nullptr), data);  // fills the cache
  }
  std::string key = vol.BlockObjects().at(0);
  std::string path = dir + "/blocks/" + key;
  ASSERT_TRUE(std::filesystem::exists(path));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5);
    f.put('\x7f');
  }
  auto cs = vol.Open(o);  // index rebuilt from the directory
  EXPECT_EQ(cs->cache()->stats().disk_blocks, 1u);
  auto r = cs->Read(ino, 0, data.size(), data.size(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r == data);
  EXPECT_EQ(cs->cache()->stats().corrupt_dropped, 1u);
  std::filesystem::remove_all(dir);
}

// A file:// store reads as fast as the disk cache: blocks read from it go into the memory
// cache only; any other store's also into the disk cache (issue 16).
TEST(ChunkStore, BlocksReadFromAFileStoreSkipTheDiskCache) {
  meta::VolumeFormat format;
  format.name = "v";
  format.storage_url = "file:///srv/blocks";
  auto local = ChunkOptions::FromFormat(format);
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->disk_fills_from_store);
  EXPECT_FALSE(local->blocks.cache_written_blocks);
  format.storage_url = "s3://bucket";
  auto remote = ChunkOptions::FromFormat(format);
  ASSERT_TRUE(remote.ok());
  EXPECT_TRUE(remote->disk_fills_from_store);

  TestVolume vol({.block_size = 64 << 10});
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("strata-chunk-nofill-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  ChunkOptions o = vol.Options();
  o.cache.cache_dir = dir;
  o.cache.free_space_ratio = 0;
  o.blocks.cache_written_blocks = false;
  const std::string data = RandomBytes(3 * (64 << 10), 5);
  meta::Ino ino = vol.NewFile("f");
  for (bool fills : {false, true}) {
    std::filesystem::remove_all(dir);
    o.disk_fills_from_store = fills;
    auto cs = vol.Open(o);
    ASSERT_TRUE(cs->Write(ino, 0, data).ok());
    ASSERT_TRUE(cs->Flush(ino).ok());
    ASSERT_EQ(*cs->Read(ino, 0, data.size(), data.size(), nullptr), data);
    cache::CacheStats st = cs->cache()->stats();
    EXPECT_EQ(st.disk_blocks, fills ? 3u : 0u) << "fills " << fills;
    EXPECT_EQ(st.memory_bytes, data.size()) << "fills " << fills;
    ASSERT_EQ(*cs->Read(ino, 0, data.size(), data.size(), nullptr), data);  // memory hits
  }
  std::filesystem::remove_all(dir);
}

TEST(ChunkStore, ConcurrentWritersToDifferentFiles) {
  TestVolume vol({.block_size = 64 << 10});
  ChunkOptions o = vol.Options();
  o.writer.buffer_size = 2 * kMiB;
  auto cs = vol.Open(o);
  std::vector<meta::Ino> inos;
  for (int i = 0; i < 4; i++) inos.push_back(vol.NewFile("f" + std::to_string(i)));
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::string d = RandomBytes(3 * kMiB + t, t);
      for (size_t off = 0; off < d.size(); off += 100000) {
        Status st = cs->Write(inos[t], off, std::string_view(d).substr(off, 100000));
        if (!st.ok()) {
          results[t] = st;
          return;
        }
      }
      results[t] = cs->Flush(inos[t]);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; t++) {
    ASSERT_TRUE(results[t].ok()) << results[t].ToString();
    EXPECT_TRUE(vol.ReadAll(*vol.Open(), inos[t]) == RandomBytes(3 * kMiB + t, t));
  }
}

TEST(ChunkStore, OptionsValidate) {
  TestVolume vol;
  ChunkOptions o = vol.Options();
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.blocks.key_prefix, "vol/");
  o.writer.max_uploads = 0;
  EXPECT_TRUE(o.Validate().Is(Code::kInvalidArgument));
  o = vol.Options();
  o.blocks.block_size = 1000;
  EXPECT_FALSE(ChunkStore::Open(vol.meta(), nullptr, o).ok());
}

}  // namespace
}  // namespace strata::chunk
