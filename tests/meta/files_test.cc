// File data on every engine: slices, truncate, fallocate, copy_file_range, compaction and the
// garbage bookkeeping that the block deleter relies on.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/meta/file_helpers.h"
#include "meta/kv/kv_wrapper.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class FilesTest : public MetaTest {};

// An engine whose commits start failing (kIOError, nothing applied) once a budget of commits
// is spent: a client that crashes between two transactions, without killing the process.
class CrashingEngine : public kv::KvEngineWrapper {
 public:
  using KvEngineWrapper::KvEngineWrapper;
  std::string Describe() const override { return "crashing:" + target().Describe(); }
  Result<std::unique_ptr<kv::Transaction>> Begin(bool read_only) override {
    ASSIGN_OR_RETURN(auto txn, target().Begin(read_only));
    return std::unique_ptr<kv::Transaction>(new Txn(std::move(txn), budget_));
  }
  void SetBudget(int commits) { budget_ = commits; }

 private:
  class Txn : public kv::TransactionWrapper {
   public:
    Txn(std::unique_ptr<kv::Transaction> t, std::atomic<int>& budget)
        : TransactionWrapper(std::move(t)), budget_(budget) {}
    Status Commit() override {
      if (budget_.fetch_sub(1) <= 0) return Status::IOError("simulated crash before commit");
      return TransactionWrapper::Commit();
    }

   private:
    std::atomic<int>& budget_;
  };

  std::atomic<int> budget_{1 << 30};
};

TEST_P(FilesTest, WriteSlicesThenReadChunk) {
  Ino dir = MustMkdir(kRootIno, "d");
  Ino f = MustCreate(dir, "f");
  Slice a = MustWrite(meta(), f, 0, 0, 100);
  Slice b = MustWrite(meta(), f, 0, 50, 100);
  auto list = meta().ReadChunk(f, 0);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<Slice>{a, b}));  // commit order
  Attr attr = MustGetAttr(f);
  EXPECT_EQ(attr.length, 150u);
  EXPECT_EQ(attr.mtime, (Timespec{1700000000, 5}));
  auto view = View(meta(), f, 0);
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[0], (Segment{0, 50, a.id, 100, 0}));
  EXPECT_EQ(view[1], (Segment{50, 100, b.id, 100, 0}));
  // A write in a later chunk extends the file across the gap.
  MustWrite(meta(), f, 2, 10, 5);
  EXPECT_EQ(MustGetAttr(f).length, 2 * kChunkSize + 15);
  auto usage = meta().GetDirUsage(dir);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->bytes, static_cast<int64_t>(2 * kChunkSize + 15));
  EXPECT_EQ(usage->inodes, 1);
  // Never-written chunks read as empty lists; bad windows are refused.
  EXPECT_TRUE(meta().ReadChunk(f, 1)->empty());
  EXPECT_EQ(meta().WriteSlice(f, 0, Slice{0, 9, 10, 5, 10}, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(
      meta().WriteSlice(f, 0, Slice{static_cast<uint32_t>(kChunkSize) - 1, 9, 10, 0, 2}, {}).code(),
      Code::kInvalidArgument);
  EXPECT_EQ(meta().WriteSlice(dir, 0, Slice{0, 9, 10, 0, 10}, {}).code(), Code::kInvalidArgument);
}

TEST_P(FilesTest, SliceIdsAreUniqueAndNeverZero) {
  std::set<uint64_t> ids;
  for (int i = 0; i < 50; i++) {
    auto id = meta().NewSliceId();
    ASSERT_TRUE(id.ok());
    EXPECT_NE(*id, 0u);
    EXPECT_TRUE(ids.insert(*id).second);
  }
  auto other = OpenClient();
  auto id = other->NewSliceId();
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(ids.count(*id));
}

TEST_P(FilesTest, WriteRespectsCapacity) {
  VolumeFormat fmt = DefaultFormat();
  fmt.capacity_bytes = 1000;
  Reformat(fmt);
  Ino f = MustCreate(kRootIno, "f");
  MustWrite(meta(), f, 0, 0, 900);
  Status s = meta().WriteSlice(f, 0, Slice{900, 77, 200, 0, 200}, {});
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_EQ(MustGetAttr(f).length, 900u);
  EXPECT_EQ(meta().ReadChunk(f, 0)->size(), 1u);  // nothing appended
  // Overwriting inside the length needs no new space.
  MustWrite(meta(), f, 0, 0, 900);
}

TEST_P(FilesTest, TruncateDownTrimsAndDropsSlicesUpIsAHole) {
  Ino f = MustCreate(kRootIno, "f");
  Slice a = MustWrite(meta(), f, 0, 0, 100);
  Slice b = MustWrite(meta(), f, 0, 200, 100);
  Slice c = MustWrite(meta(), f, 1, 0, 10);
  ASSERT_TRUE(meta().Truncate(Root(), f, 50).ok());
  EXPECT_EQ(MustGetAttr(f).length, 50u);
  auto list = meta().ReadChunk(f, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], (Slice{0, a.id, 100, 0, 50}));  // trimmed, same stored slice
  EXPECT_TRUE(meta().ReadChunk(f, 1)->empty());
  EXPECT_EQ(Garbage(meta()), (std::set<uint64_t>{b.id, c.id}));
  // Growing shows zeros past 50: the list is unchanged and the view ends at 50.
  ASSERT_TRUE(meta().Truncate(Root(), f, 1000).ok());
  EXPECT_EQ(MustGetAttr(f).length, 1000u);
  auto view = View(meta(), f, 0);
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view[0].len, 50u);
  // Truncate to a chunk boundary drops the whole next chunk; to 0 drops everything.
  MustWrite(meta(), f, 1, 5, 5);
  ASSERT_TRUE(meta().Truncate(Root(), f, kChunkSize).ok());
  EXPECT_TRUE(meta().ReadChunk(f, 1)->empty());
  ASSERT_TRUE(meta().Truncate(Root(), f, 0).ok());
  EXPECT_TRUE(meta().ReadChunk(f, 0)->empty());
  EXPECT_TRUE(Garbage(meta()).count(a.id));
  auto usage = meta().GetDirUsage(kRootIno);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->bytes, 0);
}

TEST_P(FilesTest, TruncateChecksPermissionsAndType) {
  Ino f = MustCreate(kRootIno, "f", 0644, User(1000, 1000));
  Ino d = MustMkdir(kRootIno, "d");
  EXPECT_EQ(meta().Truncate(User(2000, 2000), f, 10).code(), Code::kPermissionDenied);
  EXPECT_TRUE(meta().Truncate(User(1000, 1000), f, 10).ok());
  EXPECT_EQ(meta().Truncate(Root(), d, 0).code(), Code::kIsDir);
  EXPECT_EQ(meta().Truncate(Root(), 999999, 0).code(), Code::kNotFound);
  // SetAttr with a size goes through Truncate.
  SetAttrRequest req;
  req.mask = kSetSize;
  req.size = 77;
  auto a = meta().SetAttr(User(1000, 1000), f, req);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->length, 77u);
}

TEST_P(FilesTest, FallocateModes) {
  Ino f = MustCreate(kRootIno, "f");
  Slice a = MustWrite(meta(), f, 0, 0, 100);
  // Plain allocate extends; with keep size it does not.
  ASSERT_TRUE(meta().Fallocate(Root(), f, 0, 50, 150).ok());
  EXPECT_EQ(MustGetAttr(f).length, 200u);
  ASSERT_TRUE(meta().Fallocate(Root(), f, kFallocKeepSize, 0, 5000).ok());
  EXPECT_EQ(MustGetAttr(f).length, 200u);
  // Punch hole needs keep size, keeps the length, and shows zeros.
  EXPECT_EQ(meta().Fallocate(Root(), f, kFallocPunchHole, 10, 10).code(), Code::kNotSupported);
  ASSERT_TRUE(meta().Fallocate(Root(), f, kFallocPunchHole | kFallocKeepSize, 10, 10).ok());
  EXPECT_EQ(MustGetAttr(f).length, 200u);
  auto view = View(meta(), f, 0);
  ASSERT_EQ(view.size(), 3u);
  EXPECT_EQ(view[0], (Segment{0, 10, a.id, 100, 0}));
  EXPECT_EQ(view[1], (Segment{10, 10, 0, 10, 0}));
  EXPECT_EQ(view[2], (Segment{20, 80, a.id, 100, 20}));
  // Zero range past the end extends the file without keep size, and not with it.
  ASSERT_TRUE(meta().Fallocate(Root(), f, kFallocZeroRange, 90, 1000).ok());
  EXPECT_EQ(MustGetAttr(f).length, 1090u);
  view = View(meta(), f, 0);
  EXPECT_EQ(view.back().id, 0u);
  EXPECT_EQ(view.back().pos, 90u);
  ASSERT_TRUE(meta().Fallocate(Root(), f, kFallocZeroRange | kFallocKeepSize, 2000, 10).ok());
  EXPECT_EQ(MustGetAttr(f).length, 1090u);
  // Bad requests.
  EXPECT_EQ(meta().Fallocate(Root(), f, 0, 0, 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(meta()
                .Fallocate(Root(), f, kFallocPunchHole | kFallocZeroRange | kFallocKeepSize, 0, 1)
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(meta().Fallocate(Root(), f, 0x100, 0, 1).code(), Code::kNotSupported);
  EXPECT_EQ(meta().Fallocate(User(5, 5), f, 0, 0, 1).code(), Code::kPermissionDenied);
  // Punching never derefs: the stored slice is still needed for its other bytes.
  EXPECT_TRUE(Garbage(meta()).empty());
}

TEST_P(FilesTest, PunchHoleAcrossChunks) {
  Ino f = MustCreate(kRootIno, "f");
  MustWrite(meta(), f, 0, 0, static_cast<uint32_t>(kChunkSize));
  MustWrite(meta(), f, 1, 0, 100);
  ASSERT_TRUE(
      meta().Fallocate(Root(), f, kFallocPunchHole | kFallocKeepSize, kChunkSize - 10, 20).ok());
  EXPECT_EQ(View(meta(), f, 0).back(),
            (Segment{static_cast<uint32_t>(kChunkSize) - 10, 10, 0, 10, 0}));
  EXPECT_EQ(View(meta(), f, 1).front(), (Segment{0, 10, 0, 10, 0}));
}

TEST_P(FilesTest, CopyFileRangeSharesSlicesWithReferences) {
  Ino src = MustCreate(kRootIno, "src");
  Ino dst = MustCreate(kRootIno, "dst");
  Slice s = MustWrite(meta(), src, 0, 0, 100);
  Slice t = MustWrite(meta(), src, 0, 40, 10);  // src view: s[0,40) t s[50,100)
  auto n = meta().CopyFileRange(Root(), src, 30, dst, 1000, 500);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 70u);  // clipped at the source's end
  EXPECT_EQ(MustGetAttr(dst).length, 1070u);
  auto view = View(meta(), dst, 0);
  ASSERT_EQ(view.size(), 4u);
  EXPECT_EQ(view[0], (Segment{0, 1000, 0, 1000, 0}));
  EXPECT_EQ(view[1], (Segment{1000, 10, s.id, 100, 30}));
  EXPECT_EQ(view[2], (Segment{1010, 10, t.id, 10, 0}));
  EXPECT_EQ(view[3], (Segment{1020, 50, s.id, 100, 50}));
  EXPECT_EQ(Refs(engine(), s), 3);  // src + two records in dst
  EXPECT_EQ(Refs(engine(), t), 2);
  // Deleting the source keeps the destination readable.
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "src").ok());
  auto done = meta().ProcessDeletedFiles(10);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 1);
  EXPECT_TRUE(Garbage(meta()).empty());
  EXPECT_EQ(View(meta(), dst, 0), view);
  EXPECT_EQ(Refs(engine(), s), 2);
  // Deleting both leaves exactly the two stored slices to delete.
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "dst").ok());
  ASSERT_TRUE(meta().ProcessDeletedFiles(10).ok());
  EXPECT_EQ(Garbage(meta()), (std::set<uint64_t>{s.id, t.id}));
  for (const auto& id : {s, t}) {
    ASSERT_TRUE(meta().ConfirmSliceDeleted(SliceRef{id.id, id.size}).ok());
  }
  EXPECT_TRUE(Garbage(meta()).empty());
}

TEST_P(FilesTest, CopyFileRangeAcrossChunkBoundaryAndWithinOneFile) {
  Ino src = MustCreate(kRootIno, "src");
  Ino dst = MustCreate(kRootIno, "dst");
  Slice s = MustWrite(meta(), src, 0, 0, 100);
  auto n = meta().CopyFileRange(Root(), src, 0, dst, kChunkSize - 30, 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(View(meta(), dst, 0).back(),
            (Segment{static_cast<uint32_t>(kChunkSize) - 30, 30, s.id, 100, 0}));
  EXPECT_EQ(View(meta(), dst, 1).front(), (Segment{0, 70, s.id, 100, 30}));
  EXPECT_EQ(Refs(engine(), s), 3);
  // Within one file: overlapping ranges are refused as Linux does, disjoint ones work.
  EXPECT_EQ(meta().CopyFileRange(Root(), src, 0, src, 50, 100).code(), Code::kInvalidArgument);
  n = meta().CopyFileRange(Root(), src, 0, src, 100, 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(MustGetAttr(src).length, 200u);
  EXPECT_EQ(View(meta(), src, 0).back(), (Segment{100, 100, s.id, 100, 0}));
  // Past the source's end nothing is copied.
  n = meta().CopyFileRange(Root(), src, 5000, dst, 0, 10);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // Permissions: reading the source, writing the destination.
  Ino priv = MustCreate(kRootIno, "priv", 0600);
  EXPECT_EQ(meta().CopyFileRange(User(7, 7), priv, 0, dst, 0, 1).code(), Code::kPermissionDenied);
}

TEST_P(FilesTest, CompactChunkReplacesPrefixOnlyWhenUnchanged) {
  Ino f = MustCreate(kRootIno, "f");
  Slice a = MustWrite(meta(), f, 0, 0, 100);
  Slice b = MustWrite(meta(), f, 0, 50, 100);
  auto expected = *meta().ReadChunk(f, 0);
  Slice c = MustWrite(meta(), f, 0, 120, 10);  // arrives after the compactor read
  auto rid = meta().NewSliceId();
  ASSERT_TRUE(rid.ok());
  Slice r{0, *rid, 150, 0, 150};
  // A stale expectation is a conflict and changes nothing.
  EXPECT_EQ(meta().CompactChunk(f, 0, {b}, r).code(), Code::kConflict);
  ASSERT_TRUE(meta().CompactChunk(f, 0, expected, r).ok());
  EXPECT_EQ(*meta().ReadChunk(f, 0), (std::vector<Slice>{r, c}));
  EXPECT_EQ(Garbage(meta()), (std::set<uint64_t>{a.id, b.id}));
  EXPECT_EQ(MustGetAttr(f).length, 150u);
}

// The data of a deleted file is released in bounded transactions; a crash between any two of
// them (simulated by an engine whose commits start failing) must not release a slice twice:
// slices shared with a second file keep exactly the second file's reference.
TEST_P(FilesTest, ProcessDeletedFilesResumesWithoutDoubleRelease) {
  Ino a = MustCreate(kRootIno, "a");
  Ino b = MustCreate(kRootIno, "b");
  std::vector<Slice> slices;
  for (uint32_t c = 0; c < 20; c++) {
    slices.push_back(MustWrite(meta(), a, c, 0, 1000));
    slices.push_back(MustWrite(meta(), a, c, 500, 1000));
  }
  const uint64_t len = MustGetAttr(a).length;
  ASSERT_EQ(*meta().CopyFileRange(Root(), a, 0, b, 0, len), len);
  for (const auto& s : slices) ASSERT_EQ(Refs(engine(), s), 2);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "a").ok());
  // Several cleaners, each stopping after one record (limit 1) and racing each other, as
  // clients that crash and restart would.
  auto other = OpenClient();
  int done = 0;
  for (int round = 0; round < 5 && DeletedFiles(engine()) > 0; round++) {
    auto x = other->ProcessDeletedFiles(1);
    auto y = meta().ProcessDeletedFiles(1);
    ASSERT_TRUE(x.ok() && y.ok());
    done += *x + *y;
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(DeletedFiles(engine()), 0u);
  EXPECT_TRUE(Garbage(meta()).empty());
  for (const auto& s : slices) EXPECT_EQ(Refs(engine(), s), 1);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "b").ok());
  ASSERT_EQ(*meta().ProcessDeletedFiles(1), 1);
  std::set<uint64_t> want;
  for (const auto& s : slices) want.insert(s.id);
  EXPECT_EQ(Garbage(meta()), want);
}

TEST_P(FilesTest, DeletedEmptyFileLeavesNothing) {
  MustCreate(kRootIno, "empty");
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "empty").ok());
  EXPECT_EQ(DeletedFiles(engine()), 0u);
  EXPECT_EQ(*meta().ProcessDeletedFiles(10), 0);
}

TEST_P(FilesTest, ReadOnlyClientRefusesDataChanges) {
  Ino f = MustCreate(kRootIno, "f");
  MetaOptions ro;
  ro.read_only = true;
  auto m = OpenClient(ro);
  EXPECT_EQ(m->WriteSlice(f, 0, Slice{0, 5, 10, 0, 10}, {}).code(), Code::kReadOnly);
  EXPECT_EQ(m->Truncate(Root(), f, 5).code(), Code::kReadOnly);
  EXPECT_EQ(m->NewSliceId().code(), Code::kReadOnly);
  EXPECT_TRUE(m->ReadChunk(f, 0).ok());
}

// A cleaner that crashes after every second transaction (the listing and one release step)
// and restarts still releases each chunk exactly once.
TEST_P(FilesTest, ProcessDeletedFilesSurvivesCrashesBetweenTransactions) {
  Ino a = MustCreate(kRootIno, "a");
  Ino b = MustCreate(kRootIno, "b");
  std::vector<Slice> slices;
  for (uint32_t c = 0; c < 30; c++) {
    slices.push_back(MustWrite(meta(), a, c, 0, 1000));
    slices.push_back(MustWrite(meta(), a, c, 100, 1000));
  }
  const uint64_t len = MustGetAttr(a).length;
  ASSERT_EQ(*meta().CopyFileRange(Root(), a, 0, b, 0, len), len);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "a").ok());
  auto crashing = std::make_shared<CrashingEngine>(OpenEngine());
  auto cleaner = Meta::Open(crashing, MetaOptions{});
  ASSERT_TRUE(cleaner.ok());
  int crashes = 0;
  for (int attempt = 0; attempt < 500 && DeletedFiles(engine()) > 0; attempt++) {
    crashing->SetBudget(2);
    auto r = (*cleaner)->ProcessDeletedFiles(1);
    if (!r.ok()) {
      EXPECT_EQ(r.code(), Code::kIOError) << r.status().ToString();
      crashes++;
    }
  }
  EXPECT_EQ(DeletedFiles(engine()), 0u);
  EXPECT_GE(crashes, 2);  // the record really was released across several restarts
  EXPECT_TRUE(Garbage(meta()).empty());
  for (const auto& s : slices) EXPECT_EQ(Refs(engine(), s), 1) << "slice " << s.id;
  auto view_b = View(meta(), b, 29);
  ASSERT_FALSE(view_b.empty());
}

TEST_P(FilesTest, UsageOfHardLinkedFileStaysExact) {
  Ino d1 = MustMkdir(kRootIno, "d1");
  Ino d2 = MustMkdir(kRootIno, "d2");
  Ino f = MustCreate(d1, "f");
  MustWrite(meta(), f, 0, 0, 100);
  ASSERT_TRUE(meta().Link(Root(), f, d2, "g").ok());
  ASSERT_TRUE(meta().Link(Root(), f, d2, "h").ok());
  MustWrite(meta(), f, 0, 100, 50);
  EXPECT_EQ(meta().GetDirUsage(d1)->bytes, 150);
  EXPECT_EQ(meta().GetDirUsage(d2)->bytes, 300);  // two links there
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 150u);
  ASSERT_TRUE(meta().Truncate(Root(), f, 10).ok());
  EXPECT_EQ(meta().GetDirUsage(d1)->bytes, 10);
  EXPECT_EQ(meta().GetDirUsage(d2)->bytes, 20);
  ASSERT_TRUE(meta().Unlink(Root(), d2, "g").ok());
  ASSERT_TRUE(meta().Unlink(Root(), d1, "f").ok());
  auto n = meta().CopyFileRange(Root(), f, 0, f, 100, 10);  // grows the single-link file
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(meta().GetDirUsage(d2)->bytes, 110);
  ASSERT_TRUE(meta().Unlink(Root(), d2, "h").ok());
  EXPECT_EQ(meta().GetDirUsage(d1)->bytes, 0);
  EXPECT_EQ(meta().GetDirUsage(d2)->bytes, 0);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 0u);
}

// Writers in several threads of two clients append to one chunk: no record is lost and the
// length and usage come out exact.
TEST_P(FilesTest, ConcurrentWritersLoseNoSlice) {
  Ino f = MustCreate(kRootIno, "f");
  auto other = OpenClient();
  ASSERT_TRUE(other);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> ids;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Meta& m = t % 2 ? meta() : *other;
      for (int i = 0; i < 15; i++) {
        const uint32_t pos = static_cast<uint32_t>((t * 15 + i) * 100);
        Slice s = MustWrite(m, f, 0, pos, 100);
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(s.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto list = meta().ReadChunk(f, 0);
  ASSERT_TRUE(list.ok());
  std::set<uint64_t> got;
  for (const Slice& s : *list) got.insert(s.id);
  EXPECT_EQ(list->size(), 60u);
  EXPECT_EQ(got, ids);
  EXPECT_EQ(MustGetAttr(f).length, 6000u);
  EXPECT_EQ(meta().GetDirUsage(kRootIno)->bytes, 6000);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 6000u);
}

STRATA_META_INSTANTIATE(FilesTest);

}  // namespace
}  // namespace strata::meta::testing
