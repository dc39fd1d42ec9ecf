// DataWriter memory: stored blocks leave the buffer at once (and are read back for
// read-your-writes), so the budget waits for uploads rather than freezing slices early.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"

namespace strata::chunk {
namespace {

using testing::RandomBytes;
using testing::TestVolume;

constexpr uint64_t kMiB = 1 << 20;

// Waits (bounded) until the writer buffers at most `bytes`.
bool WaitBuffered(ChunkStore& cs, uint64_t bytes) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (cs.writer()->buffered_bytes() > bytes) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(WriterMemory, StoredBlocksLeaveTheBufferAndAreReadBack) {
  TestVolume vol;  // 1 MiB blocks
  ChunkOptions o = vol.Options();
  o.writer.idle_ms = o.writer.freeze_after_ms = 600000;  // only Flush commits
  o.blocks.cache_written_blocks = false;  // as on file://: nothing but the store holds them
  auto cs = vol.Open(o);
  meta::Ino ino = vol.NewFile("f");
  const std::string data = RandomBytes(3 * kMiB + kMiB / 2, 7);
  for (size_t off = 0; off < data.size(); off += 256 << 10) {
    ASSERT_TRUE(cs->Write(ino, off, std::string_view(data).substr(off, 256 << 10)).ok());
  }
  // The three full blocks are stored and released; the open half block stays buffered.
  ASSERT_TRUE(WaitBuffered(*cs, kMiB / 2)) << cs->writer()->buffered_bytes();
  EXPECT_EQ(vol.Length(ino), 0u);  // nothing committed yet
  // Read-your-writes: the released blocks come back from the store.
  auto r = cs->Read(ino, 0, 4 * kMiB, 0, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r == data);
  auto mid = cs->Read(ino, kMiB - 10, kMiB + 20, 0, nullptr);  // across two released blocks
  ASSERT_TRUE(mid.ok());
  EXPECT_TRUE(*mid == data.substr(kMiB - 10, kMiB + 20));
  // An overwrite inside a released block wins over it. (It freezes the first slice, which
  // may commit meanwhile: the range read stays within the second slice's pending end.)
  ASSERT_TRUE(cs->Write(ino, kMiB + 5, "XYZ").ok());
  std::string want = data;
  want.replace(kMiB + 5, 3, "XYZ");
  auto over = cs->Read(ino, 0, kMiB + 8, vol.Length(ino), nullptr);
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  EXPECT_TRUE(*over == want.substr(0, kMiB + 8));
  ASSERT_TRUE(cs->Flush(ino).ok());
  EXPECT_EQ(cs->writer()->buffered_bytes(), 0u);
  EXPECT_EQ(vol.Length(ino), data.size());
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == want);
}

TEST(WriterMemory, SmallBudgetWaitsForUploadsInsteadOfFreezingSlices) {
  TestVolume vol({.block_size = 256 << 10});
  ChunkOptions o = vol.Options();
  o.writer.buffer_size = 1 * kMiB;  // 4 blocks for 2 writers of 8 MiB each
  o.writer.idle_ms = o.writer.freeze_after_ms = 600000;
  o.writer.max_uploads = 2;
  auto cs = vol.Open(o);
  meta::Ino a = vol.NewFile("a"), b = vol.NewFile("b");
  const std::string da = RandomBytes(8 * kMiB, 1), db = RandomBytes(8 * kMiB, 2);
  auto writer = [&](meta::Ino ino, const std::string& d, Status* out) {
    for (size_t off = 0; off < d.size(); off += 128 << 10) {
      Status st = cs->Write(ino, off, std::string_view(d).substr(off, 128 << 10));
      if (!st.ok()) {
        *out = st;
        return;
      }
      // The budget holds: what is buffered is the open blocks and the uploads under way.
      EXPECT_LE(cs->writer()->buffered_bytes(), o.writer.buffer_size + (128 << 10));
    }
    *out = cs->Flush(ino);
  };
  Status sa, sb;
  std::thread ta(writer, a, std::cref(da), &sa), tb(writer, b, std::cref(db), &sb);
  ta.join();
  tb.join();
  ASSERT_TRUE(sa.ok()) << sa.ToString();
  ASSERT_TRUE(sb.ok()) << sb.ToString();
  // Each file is one slice: memory came back from uploads, so no slice was frozen early.
  EXPECT_EQ(vol.meta()->ReadChunk(a, 0)->size(), 1u);
  EXPECT_EQ(vol.meta()->ReadChunk(b, 0)->size(), 1u);
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), a) == da);
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), b) == db);
}

}  // namespace
}  // namespace strata::chunk
