// Restoring from the trash on every engine: a trashed file's owner (or root) renames it out
// of its sticky hour directory, nobody else can, nothing can be put into the trash, and
// Meta::ListTrash / RestoreTrash (strata trash list/restore) find and restore entries.
#include <gtest/gtest.h>

#include "meta/internal.h"
#include "tests/meta/file_helpers.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class TrashRestoreTest : public MetaTest {
 protected:
  void SetUp() override {
    MetaTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    VolumeFormat f = DefaultFormat();
    f.trash_days = 1;
    Reformat(f);
    home_ = MustMkdir(kRootIno, "home", 0777);
  }
  // Creates `name` in home as `owner`, writes `bytes`, unlinks it; returns its trash entry.
  TrashEntry Trash(const Context& owner, const std::string& name, uint64_t bytes) {
    Ino f = MustCreate(home_, name, 0644, owner);
    if (bytes) MustWrite(meta(), f, 0, 0, bytes);
    EXPECT_TRUE(meta().Unlink(owner, home_, name).ok());
    auto all = meta().ListTrash();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    for (const auto& e : *all) {
      if (e.ino == f) return e;
    }
    ADD_FAILURE() << name << " not listed in the trash";
    return TrashEntry{};
  }
  Ino home_ = 0;
};

TEST_P(TrashRestoreTest, OwnerRestoresByRenameAndOthersCannot) {
  const Context alice = User(1000, 1000), bob = User(1001, 1001);
  TrashEntry e = Trash(alice, "notes", 100);
  ASSERT_NE(e.ino, 0u);
  Attr hour = MustGetAttr(e.hour_ino);
  EXPECT_EQ(hour.mode, 01777u);
  EXPECT_EQ(hour.uid, 0u);
  EXPECT_EQ(MustGetAttr(kTrashIno).mode, 0555u);
  // Bob may write the hour directory, but the sticky rule keeps him off alice's file.
  EXPECT_EQ(meta().Rename(bob, e.hour_ino, e.name, home_, "stolen", 0).code(), Code::kNotPermitted);
  EXPECT_EQ(meta().Unlink(bob, e.hour_ino, e.name).code(), Code::kNotPermitted);
  ASSERT_TRUE(meta().Rename(alice, e.hour_ino, e.name, home_, "notes", 0).ok());
  auto back = meta().Lookup(alice, home_, "notes");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ino, e.ino);
  EXPECT_EQ(back->attr.parent, home_);
  EXPECT_EQ(back->attr.length, 100u);
  EXPECT_EQ(meta().GetDirUsage(home_)->bytes, 100);
  EXPECT_EQ(meta().GetDirUsage(e.hour_ino)->bytes, 0);
  EXPECT_TRUE(meta().ListTrash()->empty());
  ExpectConsistent();
}

TEST_P(TrashRestoreTest, OwnerMayAlsoDeleteForGoodAndOthersMayNot) {
  const Context alice = User(1000, 1000), bob = User(1001, 1001);
  TrashEntry e = Trash(alice, "draft", 500);
  ASSERT_NE(e.ino, 0u);
  EXPECT_EQ(meta().Unlink(bob, e.hour_ino, e.name).code(), Code::kNotPermitted);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 500u);
  ASSERT_TRUE(meta().Unlink(alice, e.hour_ino, e.name).ok());
  EXPECT_EQ(meta().GetAttr(e.ino).code(), Code::kNotFound);  // released, not trashed again
  EXPECT_TRUE(meta().ListTrash()->empty());
  EXPECT_EQ(*meta().ProcessDeletedFiles(10), 1);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 0u);
  ExpectConsistent();
}

TEST_P(TrashRestoreTest, AnOldReadOnlyHourDirectoryIsMendedOnNextUse) {
  TrashEntry first = Trash(Root(), "first", 0);
  ASSERT_NE(first.ino, 0u);
  // As volumes written before owner restore have it: 0555, only root could restore.
  SetAttrRequest chmod;
  chmod.mask = kSetMode;
  chmod.mode = 0555;
  ASSERT_TRUE(meta().SetAttr(Root(), first.hour_ino, chmod).ok());
  EXPECT_EQ(MustGetAttr(first.hour_ino).mode, 0555u);
  TrashEntry second = Trash(Root(), "second", 0);
  ASSERT_EQ(second.hour_ino, first.hour_ino);
  EXPECT_EQ(MustGetAttr(first.hour_ino).mode, 01777u);
}

TEST_P(TrashRestoreTest, NothingCanBePutIntoTheTrash) {
  const Context alice = User(1000, 1000);
  TrashEntry e = Trash(alice, "a", 0);
  ASSERT_NE(e.ino, 0u);
  Ino other = MustCreate(home_, "other", 0644, alice);
  for (const Context& who : {alice, Root()}) {
    for (Ino dir : {kTrashIno, e.hour_ino}) {
      SCOPED_TRACE("uid " + std::to_string(who.uid) + " dir " + std::to_string(dir));
      EXPECT_EQ(meta().Mknod(who, dir, "x", FileType::kRegular, 0644, 0).code(),
                Code::kNotPermitted);
      EXPECT_EQ(meta().Mkdir(who, dir, "x", 0755).code(), Code::kNotPermitted);
      EXPECT_EQ(meta().Symlink(who, dir, "x", "/etc").code(), Code::kNotPermitted);
      EXPECT_EQ(meta().Link(who, other, dir, "x").code(), Code::kNotPermitted);
      EXPECT_EQ(meta().Rename(who, home_, "other", dir, "x", 0).code(), Code::kNotPermitted);
    }
    // Neither renaming within the trash nor exchanging a trash entry with an outside file.
    EXPECT_EQ(meta().Rename(who, e.hour_ino, e.name, e.hour_ino, "renamed", 0).code(),
              Code::kNotPermitted);
    EXPECT_EQ(meta().Rename(who, e.hour_ino, e.name, home_, "other", kRenameExchange).code(),
              Code::kNotPermitted);
  }
  EXPECT_EQ(ListNames(e.hour_ino), std::vector<std::string>{e.name});
  EXPECT_EQ(ListNames(kTrashIno), std::vector<std::string>{e.hour});
  ExpectConsistent();
}

TEST_P(TrashRestoreTest, ListShowsOriginAndRestoreRefusesTakenNamesAndGoneParents) {
  Ino sub = MustMkdir(home_, "sub", 0777);
  Ino f = MustCreate(sub, "deep.txt");
  MustWrite(meta(), f, 0, 0, 42);
  ASSERT_TRUE(meta().Unlink(Root(), sub, "deep.txt").ok());
  TrashEntry top = Trash(User(1000, 1000), "top-level-name", 7);
  auto all = meta().ListTrash();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  const TrashEntry* deep = nullptr;
  for (const auto& e : *all) {
    if (e.ino == f) deep = &e;
  }
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(deep->parent, sub);
  EXPECT_EQ(deep->parent_path, "/home/sub");
  EXPECT_EQ(deep->original, "deep.txt");
  EXPECT_EQ(deep->attr.length, 42u);
  EXPECT_EQ(top.original, "top-level-name");  // dashes in the name survive the parse
  EXPECT_EQ(top.attr.uid, 1000u);
  // --path: only files whose original parent lies in the subtree.
  auto in_sub = meta().ListTrash(sub);
  ASSERT_TRUE(in_sub.ok());
  ASSERT_EQ(in_sub->size(), 1u);
  EXPECT_EQ((*in_sub)[0].ino, f);
  EXPECT_EQ(meta().ListTrash(home_)->size(), 2u);

  // The name is taken: refused, the entry stays; --to elsewhere works.
  MustCreate(sub, "deep.txt");
  const TrashEntry d = *deep;
  EXPECT_EQ(meta().RestoreTrash(Root(), d.hour, d.name).code(), Code::kAlreadyExists);
  EXPECT_EQ(meta().ListTrash(sub)->size(), 1u);
  auto moved = meta().RestoreTrash(Root(), d.hour, d.name, home_);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(meta().Lookup(Root(), home_, "deep.txt")->ino, f);
  EXPECT_EQ(meta().RestoreTrash(Root(), d.hour, d.name).code(), Code::kNotFound);  // gone

  // The original parent is gone: refused unless --to.
  Ino gone = MustMkdir(home_, "gone", 0777);
  MustCreate(gone, "lost");
  ASSERT_TRUE(meta().Unlink(Root(), gone, "lost").ok());
  ASSERT_TRUE(meta().Rmdir(Root(), home_, "gone").ok());
  TrashEntry lost;
  auto listed = meta().ListTrash();  // kept: a range-for over *temporary would dangle
  ASSERT_TRUE(listed.ok());
  for (const auto& e : *listed) {
    if (e.original == "lost") lost = e;
  }
  ASSERT_EQ(lost.parent, gone);
  EXPECT_EQ(lost.parent_path, "");
  EXPECT_TRUE(meta().ListTrash(home_)->size() == 1u);  // only "top-level-name" now
  EXPECT_EQ(meta().RestoreTrash(Root(), lost.hour, lost.name).code(), Code::kNotFound);
  ASSERT_TRUE(meta().RestoreTrash(Root(), lost.hour, lost.name, kRootIno).ok());
  EXPECT_TRUE(meta().Lookup(Root(), kRootIno, "lost").ok());
  EXPECT_EQ(meta().RestoreTrash(Root(), lost.hour, "not-a-trash-name").code(),
            Code::kInvalidArgument);
  ExpectConsistent();
}

STRATA_META_INSTANTIATE(TrashRestoreTest);

}  // namespace
}  // namespace strata::meta::testing
