// Compaction and block deletion against a real Meta (memkv) and a mem:// store.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"

namespace strata::chunk {
namespace {

using testing::HookStore;
using testing::RandomBytes;
using testing::TestVolume;
using testing::VolumeSpec;

// Writes n overlapping, separately flushed pieces: n slices in chunk 0. Returns the content.
std::string Fragment(ChunkStore& cs, meta::Ino ino, int n) {
  std::string model;
  for (int i = 0; i < n; i++) {
    uint64_t off = (i * 37000) % 200000;
    std::string bytes = RandomBytes(50000 + i * 100, i + 100);
    EXPECT_TRUE(cs.Write(ino, off, bytes).ok());
    EXPECT_TRUE(cs.Flush(ino).ok());
    if (model.size() < off + bytes.size()) model.resize(off + bytes.size(), '\0');
    model.replace(off, bytes.size(), bytes);
  }
  return model;
}

// Block keys every slice still referenced by ino's chunk 0 needs.
std::set<std::string> ReferencedBlocks(TestVolume& vol, meta::Ino ino, uint32_t block_size) {
  std::set<std::string> keys;
  auto slices = vol.meta()->ReadChunk(ino, 0);
  EXPECT_TRUE(slices.ok());
  for (const meta::Slice& s : *slices) {
    if (s.id == 0) continue;
    for (auto& k : SliceBlockKeys("vol/", s.id, s.size, block_size)) keys.insert(k);
  }
  return keys;
}

TEST(Compaction, PreservesContentAndLeavesOneSlice) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("frag");
  std::string model = Fragment(*cs, ino, 12);
  ASSERT_EQ(vol.meta()->ReadChunk(ino, 0)->size(), 12u);
  ASSERT_TRUE(cs->CompactFile(ino, vol.Length(ino)).ok());
  auto slices = *vol.meta()->ReadChunk(ino, 0);
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].len, model.size());
  cs->InvalidateFile(ino);
  EXPECT_TRUE(vol.ReadAll(*cs, ino) == model);
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == model);
  EXPECT_EQ(cs->compactor()->compactions(), 1u);
}

TEST(Compaction, LaterSlicesStillWinAfterCompaction) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  std::string model = Fragment(*cs, ino, 4);
  ASSERT_TRUE(cs->compactor()->CompactChunk(ino, 0).ok());
  ASSERT_TRUE(cs->Write(ino, 10, "tail write").ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  model.replace(10, 10, "tail write");
  EXPECT_EQ(vol.meta()->ReadChunk(ino, 0)->size(), 2u);
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == model);
}

TEST(Compaction, TriggeredByFragmentedReads) {
  TestVolume vol({.block_size = 64 << 10});
  ChunkOptions o = vol.Options();
  o.background_jobs = true;  // reads schedule compaction
  auto cs = vol.Open(o);
  meta::Ino ino = vol.NewFile("frag");
  std::string model = Fragment(*cs, ino, 8);
  cs->InvalidateFile(ino);
  EXPECT_TRUE(vol.ReadAll(*cs, ino) == model);  // sees >= 5 segments: schedules compaction
  cs->compactor()->WaitIdle();
  EXPECT_EQ(vol.meta()->ReadChunk(ino, 0)->size(), 1u);
  cs->InvalidateFile(ino);
  EXPECT_TRUE(vol.ReadAll(*cs, ino) == model);
}

// Another client appends to the chunk while the compaction runs (between its read of the
// slice list and its commit): the list still begins with what it read, so the compaction
// commits, and the appended slice stays on top of it.
TEST(Compaction, AppendDuringCompactionSurvivesIt) {
  TestVolume vol({.block_size = 64 << 10});
  auto hooked = std::make_shared<HookStore>(vol.mem_shared());
  auto cs = vol.OpenOn(hooked, vol.Options());
  auto other = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  std::string model = Fragment(*cs, ino, 4);
  const std::string appended = RandomBytes(30000, 99);
  bool fired = false;
  hooked->SetPutHook([&](const std::string&, const object::PutOptions&) {
    if (fired) return;
    fired = true;  // the compactor's first upload: its slice list is already read
    EXPECT_TRUE(other->Write(ino, model.size(), appended).ok());
    EXPECT_TRUE(other->Flush(ino).ok());
  });
  ASSERT_TRUE(cs->compactor()->CompactChunk(ino, 0).ok());
  ASSERT_TRUE(fired);
  model += appended;
  EXPECT_EQ(vol.meta()->ReadChunk(ino, 0)->size(), 2u);  // compacted + appended
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == model);
  // Once the replaced slices are deleted, the store holds exactly what is referenced.
  ASSERT_TRUE(cs->CollectGarbage().ok());
  auto objects = vol.BlockObjects();
  EXPECT_EQ(std::set<std::string>(objects.begin(), objects.end()),
            ReferencedBlocks(vol, ino, 64 << 10));
}

// The chunk's list changes under the compaction (another client compacts it first): the
// commit is refused with kConflict, the new slice's blocks are deleted, content intact.
TEST(Compaction, ConflictDeletesNewBlocksAndKeepsContent) {
  TestVolume vol({.block_size = 64 << 10});
  auto hooked = std::make_shared<HookStore>(vol.mem_shared());
  auto cs = vol.OpenOn(hooked, vol.Options());
  auto other = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  std::string model = Fragment(*cs, ino, 5);
  std::set<std::string> ours;  // keys the conflicting compaction uploaded
  bool fired = false;
  hooked->SetPutHook([&](const std::string& key, const object::PutOptions&) {
    ours.insert(key);
    if (fired) return;
    fired = true;
    EXPECT_TRUE(other->compactor()->CompactChunk(ino, 0).ok());  // wins the race
  });
  Status st = cs->compactor()->CompactChunk(ino, 0);
  EXPECT_TRUE(st.Is(Code::kConflict)) << st.ToString();
  ASSERT_FALSE(ours.empty());
  EXPECT_EQ(cs->compactor()->failures(), 1u);
  auto objects = vol.BlockObjects();
  for (auto& k : ours) {
    EXPECT_EQ(std::count(objects.begin(), objects.end(), k), 0) << k << " left behind";
  }
  EXPECT_EQ(vol.meta()->ReadChunk(ino, 0)->size(), 1u);  // the other client's result
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), ino) == model);
  ASSERT_TRUE(cs->CollectGarbage().ok());
  objects = vol.BlockObjects();
  EXPECT_EQ(std::set<std::string>(objects.begin(), objects.end()),
            ReferencedBlocks(vol, ino, 64 << 10));
}

TEST(Deleter, RemovesExactlyTheUnreferencedBlocks) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino keep = vol.NewFile("keep");
  meta::Ino gone = vol.NewFile("gone");
  std::string kept = Fragment(*cs, keep, 6);
  ASSERT_TRUE(cs->Write(gone, 0, RandomBytes(300000, 9)).ok());
  ASSERT_TRUE(cs->Flush(gone).ok());
  ASSERT_TRUE(cs->CompactFile(keep, vol.Length(keep)).ok());  // 6 slices lose a reference
  ASSERT_TRUE(vol.meta()->Unlink(meta::Context{}, meta::kRootIno, "gone").ok());
  auto before = vol.BlockObjects();
  auto deleted = cs->CollectGarbage();
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 7);  // six replaced slices + the deleted file's one
  auto after = vol.BlockObjects();
  std::set<std::string> want = ReferencedBlocks(vol, keep, 64 << 10);
  EXPECT_EQ(std::set<std::string>(after.begin(), after.end()), want);
  EXPECT_LT(after.size(), before.size());
  EXPECT_TRUE(vol.ReadAll(*vol.Open(), keep) == kept);
  // Nothing pending any more: a second pass (as after a crash) deletes nothing.
  EXPECT_EQ(*cs->CollectGarbage(), 0);
  EXPECT_EQ(vol.BlockObjects(), after);
}

TEST(Deleter, ResumesWhenConfirmationWasLost) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(200000, 5)).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());
  ASSERT_TRUE(vol.meta()->Unlink(meta::Context{}, meta::kRootIno, "f").ok());
  ASSERT_TRUE(vol.meta()->ProcessDeletedFiles(100).ok());
  // A deleter that removed the blocks and crashed before confirming:
  auto pending = *vol.meta()->PendingSliceDeletions(100);
  ASSERT_EQ(pending.size(), 1u);
  ASSERT_TRUE(cs->blocks()->DeleteSlice(pending[0].id, pending[0].size).ok());
  // The next run finds it still pending, deletes (nothing) and confirms.
  EXPECT_EQ(*cs->CollectGarbage(), 1);
  EXPECT_TRUE(vol.meta()->PendingSliceDeletions(100)->empty());
  EXPECT_TRUE(vol.BlockObjects().empty());
}

}  // namespace
}  // namespace strata::chunk
