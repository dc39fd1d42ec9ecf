// The trash on every engine: with trash_days > 0 a file's last unlink (or replacement by a
// rename) moves it to /.trash/{YYYY-MM-DD-HH}/{parent}-{ino}-{name}; expiry releases it.
#include <fcntl.h>

#include <gtest/gtest.h>

#include "meta/internal.h"
#include "meta/session_util.h"
#include "tests/meta/file_helpers.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class TrashTest : public MetaTest {
 protected:
  void SetUp() override {
    MetaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    VolumeFormat f = DefaultFormat();
    f.trash_days = 1;
    Reformat(f);
  }
  uint64_t UsedBytes() {
    auto st = meta().GetStatFs(Root(), kRootIno);
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->used_bytes : 0;
  }
};

TEST_P(TrashTest, UnlinkedFileGoesToTheHourDirectoryAndExpires) {
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, ".trash").code(), Code::kNotFound);  // none yet
  Ino d = MustMkdir(kRootIno, "d");
  Ino f = MustCreate(d, "report.txt");
  Slice s = MustWrite(meta(), f, 0, 0, 1000);
  const int64_t now = internal::Now(*SystemClock::Get()).sec;
  ASSERT_TRUE(meta().Unlink(Root(), d, "report.txt").ok());
  EXPECT_EQ(meta().Lookup(Root(), d, "report.txt").code(), Code::kNotFound);
  // /.trash is reachable by name from the root, though readdir of / does not list it.
  auto trash = meta().Lookup(Root(), kRootIno, ".trash");
  ASSERT_TRUE(trash.ok()) << trash.status().ToString();
  EXPECT_EQ(trash->ino, kTrashIno);
  EXPECT_EQ(trash->attr.type, FileType::kDirectory);
  // The hour directory is named for the current UTC hour.
  auto hours = ListNames(kTrashIno);
  ASSERT_EQ(hours.size(), 1u);
  EXPECT_EQ(hours[0].size(), 13u);  // YYYY-MM-DD-HH
  auto hour = meta().Lookup(Root(), kTrashIno, hours[0]);
  ASSERT_TRUE(hour.ok()) << hour.status().ToString();
  EXPECT_EQ(hour->ino, internal::TrashHourIno(now));
  const std::string trashed = std::to_string(d) + "-" + std::to_string(f) + "-report.txt";
  EXPECT_EQ(ListNames(hour->ino), std::vector<std::string>{trashed});
  Attr a = MustGetAttr(f);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.parent, hour->ino);
  EXPECT_EQ(DeletedFiles(engine()), 0u);
  // Usage moved out of d; the volume still counts the bytes (they still exist).
  EXPECT_EQ(meta().GetDirUsage(d)->bytes, 0);
  EXPECT_EQ(meta().GetDirUsage(d)->inodes, 0);
  EXPECT_EQ(UsedBytes(), 1000u);
  // Not yet expired a day later minus an hour; expired after.
  EXPECT_EQ(*internal::ExpireTrash(engine(), 1, now + 86400 - 3600), 0);
  EXPECT_EQ(*internal::ExpireTrash(engine(), 1, now + 2 * 86400), 1);
  EXPECT_TRUE(ListNames(kTrashIno).empty());
  EXPECT_EQ(meta().GetAttr(f).code(), Code::kNotFound);
  EXPECT_EQ(*meta().ProcessDeletedFiles(10), 1);
  EXPECT_EQ(Garbage(meta()), (std::set<uint64_t>{s.id}));
  EXPECT_EQ(UsedBytes(), 0u);
}

TEST_P(TrashTest, RestoreByRenameAndNoTrashForDirectories) {
  Ino f = MustCreate(kRootIno, "keep");
  MustWrite(meta(), f, 0, 0, 10);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "keep").ok());
  auto hours = ListNames(kTrashIno);
  ASSERT_EQ(hours.size(), 1u);
  Ino hour = meta().Lookup(Root(), kTrashIno, hours[0])->ino;
  const std::string trashed = "1-" + std::to_string(f) + "-keep";
  ASSERT_TRUE(meta().Rename(Root(), hour, trashed, kRootIno, "keep", 0).ok());
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "keep")->ino, f);
  EXPECT_EQ(meta().GetDirUsage(kRootIno)->bytes, 10);
  // Directories are removed, not trashed.
  MustMkdir(kRootIno, "dir");
  ASSERT_TRUE(meta().Rmdir(Root(), kRootIno, "dir").ok());
  EXPECT_TRUE(ListNames(hour).empty());
  // An expired empty hour directory disappears.
  EXPECT_EQ(*internal::ExpireTrash(engine(), 1, internal::Now(*SystemClock::Get()).sec + 3 * 86400),
            0);
  EXPECT_TRUE(ListNames(kTrashIno).empty());
}

TEST_P(TrashTest, TrashedOpenFileRecordKeepsOneLinkInTheHourDirectory) {
  // The record a trashed file keeps, while open or not: nlink 1 (its trash entry) and the
  // hour directory (above kTrashIno) as parent. vfs::ShownAttr reports such a file with
  // nlink 0 (fstat after unlink), and restore and expiry count on the record as it is.
  Ino f = MustCreate(kRootIno, "open");
  ASSERT_TRUE(meta().OpenFile(Root(), f, O_RDWR).ok());
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "open").ok());
  auto a = meta().GetAttr(f);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->nlink, 1u);
  EXPECT_GT(a->parent, kTrashIno);
  ASSERT_TRUE(meta().CloseFile(f).ok());
  EXPECT_TRUE(meta().GetAttr(f).ok());  // still in the trash after the last close
}

STRATA_META_INSTANTIATE(TrashTest);

}  // namespace
}  // namespace strata::meta::testing
