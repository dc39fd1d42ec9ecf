// Conformance: rename in all its forms.
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class RenameTest : public MetaTest {
 protected:
  Status Mv(Ino p, const std::string& n, Ino np, const std::string& nn, uint32_t flags = 0,
            const Context& ctx = Root()) {
    return meta().Rename(ctx, p, n, np, nn, flags);
  }
  Ino InoOf(Ino dir, const std::string& name) {
    auto e = meta().Lookup(Root(), dir, name);
    return e.ok() ? e->ino : 0;
  }
};

TEST_P(RenameTest, WithinAndAcrossDirectories) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  Ino f = MustCreate(a, "f");
  ASSERT_TRUE(Mv(a, "f", a, "g").ok());
  EXPECT_EQ(InoOf(a, "f"), 0u);
  EXPECT_EQ(InoOf(a, "g"), f);
  ASSERT_TRUE(Mv(a, "g", b, "h").ok());
  EXPECT_EQ(InoOf(b, "h"), f);
  EXPECT_EQ(MustGetAttr(f).parent, b);
  EXPECT_EQ(ListNames(a), std::vector<std::string>{});
  EXPECT_EQ(ListNames(b), std::vector<std::string>{"h"});
}

TEST_P(RenameTest, DirectoryMoveFixesLinkCountsAndDotDot) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  Ino d = MustMkdir(a, "d");
  ASSERT_TRUE(Mv(a, "d", b, "d").ok());
  EXPECT_EQ(MustGetAttr(a).nlink, 2u);
  EXPECT_EQ(MustGetAttr(b).nlink, 3u);
  EXPECT_EQ(MustGetAttr(kRootIno).nlink, 4u);
  EXPECT_EQ(meta().Lookup(Root(), d, "..")->ino, b);
}

TEST_P(RenameTest, ReplacesFileAndReleasesIt) {
  Ino f = MustCreate(kRootIno, "f");
  Ino g = MustCreate(kRootIno, "g");
  ASSERT_TRUE(Mv(kRootIno, "f", kRootIno, "g").ok());
  EXPECT_EQ(InoOf(kRootIno, "g"), f);
  EXPECT_EQ(meta().GetAttr(g).code(), Code::kNotFound);
  EXPECT_EQ(ListNames(kRootIno), std::vector<std::string>{"g"});
}

TEST_P(RenameTest, ReplacingHardLinkedFileKeepsOtherLink) {
  Ino d = MustMkdir(kRootIno, "d");
  Ino g = MustCreate(kRootIno, "g");
  ASSERT_TRUE(meta().Link(Root(), g, d, "g2").ok());
  MustCreate(kRootIno, "f");
  ASSERT_TRUE(Mv(kRootIno, "f", kRootIno, "g").ok());
  Attr left = MustGetAttr(g);
  EXPECT_EQ(left.nlink, 1u);
  EXPECT_EQ(left.parent, d);
  // Renaming a hard link moves its parent record.
  Ino h = MustCreate(kRootIno, "h");
  ASSERT_TRUE(meta().Link(Root(), h, kRootIno, "h2").ok());
  ASSERT_TRUE(Mv(kRootIno, "h2", d, "h3").ok());
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "h").ok());
  EXPECT_EQ(MustGetAttr(h).parent, d);
  // Two links of one inode: rename between them does nothing.
  ASSERT_TRUE(meta().Link(Root(), h, d, "h4").ok());
  ASSERT_TRUE(Mv(d, "h3", d, "h4").ok());
  EXPECT_EQ(InoOf(d, "h3"), h);
  EXPECT_EQ(InoOf(d, "h4"), h);
  EXPECT_EQ(MustGetAttr(h).nlink, 2u);
}

TEST_P(RenameTest, ReplacesEmptyDirectoryOnly) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  MustMkdir(kRootIno, "full");
  MustCreate(InoOf(kRootIno, "full"), "x");
  EXPECT_EQ(Mv(kRootIno, "a", kRootIno, "full").code(), Code::kNotEmpty);
  ASSERT_TRUE(Mv(kRootIno, "a", kRootIno, "b").ok());
  EXPECT_EQ(InoOf(kRootIno, "b"), a);
  EXPECT_EQ(meta().GetAttr(b).code(), Code::kNotFound);
  EXPECT_EQ(MustGetAttr(kRootIno).nlink, 4u);  // root: 2 + b + full
}

TEST_P(RenameTest, TypeMismatches) {
  MustMkdir(kRootIno, "d");
  MustCreate(kRootIno, "f");
  EXPECT_EQ(Mv(kRootIno, "d", kRootIno, "f").code(), Code::kNotDir);
  EXPECT_EQ(Mv(kRootIno, "f", kRootIno, "d").code(), Code::kIsDir);
  EXPECT_EQ(Mv(kRootIno, "nope", kRootIno, "x").code(), Code::kNotFound);
  EXPECT_EQ(Mv(kRootIno, "f", 99999, "x").code(), Code::kNotFound);
  EXPECT_EQ(Mv(kRootIno, "f", InoOf(kRootIno, "f"), "x").code(), Code::kNotDir);
  EXPECT_EQ(Mv(kRootIno, "f", kRootIno, std::string(256, 'x')).code(), Code::kNameTooLong);
  EXPECT_EQ(Mv(kRootIno, "f", kRootIno, "..").code(), Code::kBusy);
}

TEST_P(RenameTest, RefusesToMoveDirectoryIntoItsOwnSubtree) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(a, "b");
  Ino c = MustMkdir(b, "c");
  EXPECT_EQ(Mv(kRootIno, "a", c, "a").code(), Code::kInvalidArgument);
  EXPECT_EQ(Mv(kRootIno, "a", a, "self").code(), Code::kInvalidArgument);
  EXPECT_EQ(Mv(a, "b", b, "x").code(), Code::kInvalidArgument);
  EXPECT_TRUE(Mv(b, "c", kRootIno, "c").ok());  // moving up is fine
  EXPECT_EQ(ListNames(kRootIno), (std::vector<std::string>{"a", "c"}));
}

TEST_P(RenameTest, NoReplace) {
  Ino f = MustCreate(kRootIno, "f");
  MustCreate(kRootIno, "g");
  EXPECT_EQ(Mv(kRootIno, "f", kRootIno, "g", kRenameNoReplace).code(), Code::kAlreadyExists);
  EXPECT_EQ(InoOf(kRootIno, "f"), f);
  EXPECT_TRUE(Mv(kRootIno, "f", kRootIno, "h", kRenameNoReplace).ok());
  EXPECT_EQ(Mv(kRootIno, "h", kRootIno, "i", kRenameNoReplace | kRenameExchange).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Mv(kRootIno, "h", kRootIno, "i", 0x80).code(), Code::kInvalidArgument);
}

TEST_P(RenameTest, ExchangeSwapsEntriesOfAnyTypes) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  Ino f = MustCreate(a, "f");
  Ino d = MustMkdir(b, "d");
  MustCreate(d, "inner");
  ASSERT_TRUE(Mv(a, "f", b, "d", kRenameExchange).ok());
  EXPECT_EQ(InoOf(a, "f"), d);
  EXPECT_EQ(InoOf(b, "d"), f);
  EXPECT_EQ(MustGetAttr(d).parent, a);
  EXPECT_EQ(MustGetAttr(f).parent, b);
  EXPECT_EQ(MustGetAttr(a).nlink, 3u);  // gained a subdirectory
  EXPECT_EQ(MustGetAttr(b).nlink, 2u);
  EXPECT_EQ(meta().Lookup(Root(), d, "..")->ino, a);
  EXPECT_EQ(Mv(a, "f", b, "missing", kRenameExchange).code(), Code::kNotFound);
  // Exchanging a directory with its own ancestor is refused.
  EXPECT_EQ(Mv(d, "inner", kRootIno, "a", kRenameExchange).code(), Code::kInvalidArgument);
}

TEST_P(RenameTest, NeedsWriteOnBothParentsAndOnAMovedDirectory) {
  Ino mine = MustMkdir(kRootIno, "mine", 0755, User(1000, 1000));
  Ino theirs = MustMkdir(kRootIno, "theirs", 0755, User(2000, 2000));
  MustCreate(mine, "f", 0644, User(1000, 1000));
  EXPECT_EQ(Mv(mine, "f", theirs, "f", 0, User(1000, 1000)).code(), Code::kPermissionDenied);
  EXPECT_EQ(Mv(theirs, "x", mine, "x", 0, User(1000, 1000)).code(), Code::kPermissionDenied);
  Ino open = MustMkdir(kRootIno, "open", 0777);
  MustMkdir(open, "rodir", 0555, User(1000, 1000));
  // Moving a directory to another parent rewrites its "..": it must be writable.
  EXPECT_EQ(Mv(open, "rodir", mine, "rodir", 0, User(1000, 1000)).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Mv(open, "rodir", open, "renamed", 0, User(1000, 1000)).ok());
}

}  // namespace
STRATA_META_INSTANTIATE(RenameTest);
}  // namespace strata::meta::testing
