// The writer's error sequences (writer.h "Write errors", errseq semantics) against a real Meta
// (memkv) and a mem:// store behind a FaultyStore: every description open when an upload
// failed hears of it once, a later one does not, none hides it from another, and an error no
// description saw is kept for the next one.
#include <gtest/gtest.h>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"
#include "common/logging.h"

namespace strata::chunk {
namespace {

using testing::RandomBytes;
using testing::TestVolume;

// Every block put fails with ENOSPC (a full store) until the rules are cleared.
void FillStore(TestVolume& vol) {
  object::FaultRule rule;
  rule.ops = object::OpBit(object::StoreOp::kPut);
  rule.code = Code::kNoSpace;
  vol.faulty()->AddRule(rule);
}

TEST(WriterErrors, EveryOpenDescriptionSeesTheErrorOnceAndALaterOneDoesNot) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor writer = cs->OpenErrorCursor(ino);
  ErrorCursor other = cs->OpenErrorCursor(ino);  // open, writes nothing itself
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(100000, 1), &writer).ok());
  // The other description flushes first: it hears of the error, and does not consume it.
  EXPECT_TRUE(cs->Flush(ino, &other).Is(Code::kNoSpace));
  EXPECT_TRUE(cs->Flush(ino, &writer).Is(Code::kNoSpace));
  // Once each.
  EXPECT_TRUE(cs->Flush(ino, &other).ok());
  EXPECT_TRUE(cs->Flush(ino, &writer).ok());
  // A description opened after the error is not told of it.
  ErrorCursor later = cs->OpenErrorCursor(ino);
  EXPECT_TRUE(cs->Flush(ino, &later).ok());
  vol.faulty()->ClearRules();
  EXPECT_TRUE(cs->Fsync(ino, &later).ok());
  for (int i = 0; i < 3; i++) cs->CloseErrorCursor(ino);
  EXPECT_EQ(vol.Length(ino), 0u);  // nothing was committed
}

TEST(WriterErrors, FsyncReportsItToo) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor a = cs->OpenErrorCursor(ino);
  ErrorCursor b = cs->OpenErrorCursor(ino);
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(1000, 2), &a).ok());
  EXPECT_TRUE(cs->Fsync(ino, &a).Is(Code::kNoSpace));
  EXPECT_TRUE(cs->Fsync(ino, &b).Is(Code::kNoSpace));  // a's fsync did not hide it from b
  EXPECT_TRUE(cs->Flush(ino, &b).ok());
  cs->CloseErrorCursor(ino);
  cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, DrainLeavesTheErrorForTheDescriptions) {
  // What truncate, fallocate, copy_file_range and O_TRUNC do before they change the file.
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor a = cs->OpenErrorCursor(ino);
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(200000, 3), &a).ok());
  cs->Drain(ino);
  EXPECT_EQ(cs->writer()->buffered_bytes(), 0u);  // it did wait for the failed slices
  cs->Drain(ino);
  EXPECT_TRUE(cs->Flush(ino, &a).Is(Code::kNoSpace));
  cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, WriteFailsFastButDoesNotConsume) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor a = cs->OpenErrorCursor(ino);
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(1000, 4), &a).ok());
  cs->Drain(ino);
  vol.faulty()->ClearRules();
  EXPECT_TRUE(cs->Write(ino, 0, "x", &a).Is(Code::kNoSpace));
  EXPECT_TRUE(cs->Write(ino, 0, "x", &a).Is(Code::kNoSpace));
  // A description that never saw the error yet writes freely once it is opened after it.
  ErrorCursor b = cs->OpenErrorCursor(ino);
  EXPECT_TRUE(cs->Write(ino, 0, "new", &b).ok());
  EXPECT_TRUE(cs->Flush(ino, &a).Is(Code::kNoSpace));  // still a's to hear, once
  EXPECT_TRUE(cs->Write(ino, 3, "er", &a).ok());
  EXPECT_TRUE(cs->Flush(ino, &a).ok());
  EXPECT_TRUE(cs->Flush(ino, &b).ok());
  EXPECT_EQ(vol.ReadAll(*vol.Open(), ino), "newer");
  cs->CloseErrorCursor(ino);
  cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, AnErrorNobodySawGoesToTheNextDescription) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  // A read-only description (reports at fsync only) and a writer whose pages are written
  // back after its close: the upload fails during the release, where nothing can be reported.
  ErrorCursor reader = cs->OpenErrorCursor(ino);
  ErrorCursor writer = cs->OpenErrorCursor(ino);
  ASSERT_TRUE(cs->Flush(ino, &writer).ok());  // close(): nothing pending yet
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(1000, 5), &writer).ok());  // mmap write-back
  cs->Drain(ino);                // release of the writer
  cs->CloseErrorCursor(ino);
  cs->CloseErrorCursor(ino);     // the reader's release: nobody saw it -> orphan
  (void)reader;
  vol.faulty()->ClearRules();
  EXPECT_TRUE(cs->FlushAll().Is(Code::kNoSpace));  // unmount would log it
  ErrorCursor next = cs->OpenErrorCursor(ino);
  ErrorCursor also = cs->OpenErrorCursor(ino);
  EXPECT_TRUE(cs->Flush(ino, &next).Is(Code::kNoSpace));
  EXPECT_TRUE(cs->Fsync(ino, &next).ok());
  EXPECT_TRUE(cs->Fsync(ino, &also).Is(Code::kNoSpace));  // open before it was seen
  ErrorCursor after = cs->OpenErrorCursor(ino);
  EXPECT_TRUE(cs->Flush(ino, &after).ok());  // seen now: not news to a later open
  EXPECT_TRUE(cs->FlushAll().ok());
  for (int i = 0; i < 3; i++) cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, AnErrorOneDescriptionSawIsNotAnOrphan) {
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor a = cs->OpenErrorCursor(ino);
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(1000, 6), &a).ok());
  EXPECT_TRUE(cs->Flush(ino, &a).Is(Code::kNoSpace));
  cs->CloseErrorCursor(ino);
  vol.faulty()->ClearRules();
  ErrorCursor b = cs->OpenErrorCursor(ino);
  EXPECT_TRUE(cs->Flush(ino, &b).ok());
  cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, ErrorsOfSeveralFailuresAreTheLatest) {
  TestVolume vol({.block_size = 64 << 10, .capacity_bytes = 100000});
  auto cs = vol.Open();
  meta::Ino ino = vol.NewFile("f");
  ErrorCursor a = cs->OpenErrorCursor(ino);
  FillStore(vol);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(1000, 7), &a).ok());
  cs->Drain(ino);
  vol.faulty()->ClearRules();
  // A later failure of another kind (the volume's capacity, at commit) replaces it.
  ErrorCursor b = cs->OpenErrorCursor(ino);
  ASSERT_TRUE(cs->Write(ino, 0, RandomBytes(300000, 8), &b).ok());
  cs->Drain(ino);
  Status st = cs->Flush(ino, &a);
  EXPECT_TRUE(st.Is(Code::kNoSpace) || st.Is(Code::kQuotaExceeded)) << st.ToString();
  EXPECT_TRUE(cs->Flush(ino, &a).ok());
  EXPECT_FALSE(cs->Flush(ino, &b).ok());  // b was open for the second one
  cs->CloseErrorCursor(ino);
  cs->CloseErrorCursor(ino);
}

TEST(WriterErrors, OrphansAreBounded) {
  // Past kMaxOrphanErrors files with an orphan, the oldest is dropped (memory stays bounded).
  // The inodes need no metadata: their uploads fail before any commit.
  TestVolume vol({.block_size = 64 << 10});
  auto cs = vol.Open();
  FillStore(vol);
  const logging::Level level = logging::GetLevel();
  logging::SetLevel(logging::Level::kError);  // one warning per orphan otherwise
  const meta::Ino first = 1000;
  const meta::Ino last = first + DataWriter::kMaxOrphanErrors;  // one more than the bound
  for (meta::Ino ino = first; ino <= last; ino++) {
    ASSERT_TRUE(cs->Write(ino, 0, "x").ok());
    cs->Drain(ino);
  }
  logging::SetLevel(level);
  ErrorCursor oldest = cs->OpenErrorCursor(first);
  ErrorCursor second = cs->OpenErrorCursor(first + 1);
  ErrorCursor newest = cs->OpenErrorCursor(last);
  EXPECT_TRUE(cs->Flush(first, &oldest).ok());  // dropped
  EXPECT_TRUE(cs->Flush(first + 1, &second).Is(Code::kNoSpace));
  EXPECT_TRUE(cs->Flush(last, &newest).Is(Code::kNoSpace));
  for (meta::Ino ino : {first, first + 1, last}) cs->CloseErrorCursor(ino);
}

}  // namespace
}  // namespace strata::chunk
