// Conformance: setattr (chmod/chown/utimens rules), access, sticky, setgid inheritance.
#include <optional>

#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class AttrPermTest : public MetaTest {
 protected:
  Result<Attr> Chmod(const Context& c, Ino ino, uint32_t mode) {
    SetAttrRequest r;
    r.mask = kSetMode;
    r.mode = mode;
    return meta().SetAttr(c, ino, r);
  }
  Result<Attr> Chown(const Context& c, Ino ino, std::optional<uint32_t> uid,
                     std::optional<uint32_t> gid) {
    SetAttrRequest r;
    if (uid) {
      r.mask |= kSetUid;
      r.uid = *uid;
    }
    if (gid) {
      r.mask |= kSetGid;
      r.gid = *gid;
    }
    return meta().SetAttr(c, ino, r);
  }
};

TEST_P(AttrPermTest, ChmodOnlyByOwnerOrRoot) {
  Ino f = MustCreate(kRootIno, "f", 0644, User(1000, 100));
  EXPECT_EQ(Chmod(User(1001, 100), f, 0777).code(), Code::kNotPermitted);
  auto a = Chmod(User(1000, 100), f, 0600);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->mode, 0600u);
  EXPECT_EQ(MustGetAttr(f).mode, 0600u);
  EXPECT_TRUE(Chmod(Root(), f, 04755).ok());
  EXPECT_EQ(MustGetAttr(f).mode, 04755u);
}

TEST_P(AttrPermTest, AnyWriterMayDropSetuidAndSetgid) {
  // After a write by another user the kernel drops the privilege bits with a chmod made as
  // that user: it must pass, and only a chmod that does nothing else.
  Ino f = MustCreate(kRootIno, "f", 0666, User(1000, 100));
  ASSERT_TRUE(Chmod(User(1000, 100), f, 06777).ok());
  EXPECT_EQ(Chmod(User(1001, 101), f, 0776).code(), Code::kNotPermitted);
  auto a = Chmod(User(1001, 101), f, 0777);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(MustGetAttr(f).mode, 0777u);
  // With no privilege bits left, the same chmod by a stranger is refused again.
  EXPECT_EQ(Chmod(User(1001, 101), f, 0777).code(), Code::kNotPermitted);
}

TEST_P(AttrPermTest, ChmodClearsSetgidWhenCallerIsNotInTheGroup) {
  Ino f = MustCreate(kRootIno, "f", 0644, User(1000, 100));
  ASSERT_TRUE(Chown(Root(), f, std::nullopt, 200).ok());
  EXPECT_EQ(Chmod(User(1000, 100), f, 02755)->mode, 0755u);
  EXPECT_EQ(Chmod(User(1000, 100, {200}), f, 02755)->mode, 02755u);
  EXPECT_EQ(Chmod(Root(), f, 02700)->mode, 02700u);
}

TEST_P(AttrPermTest, ChownRules) {
  Ino f = MustCreate(kRootIno, "f", 0644, User(1000, 100));
  EXPECT_EQ(Chown(User(1000, 100), f, 1001, std::nullopt).code(), Code::kNotPermitted);
  EXPECT_TRUE(Chown(User(1000, 100), f, 1000, std::nullopt).ok());  // to itself: no-op
  EXPECT_EQ(Chown(User(1000, 100), f, std::nullopt, 300).code(), Code::kNotPermitted);
  auto g = Chown(User(1000, 100, {300}), f, std::nullopt, 300);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->gid, 300u);
  EXPECT_EQ(Chown(User(1001, 300), f, std::nullopt, 300).code(), Code::kNotPermitted);
  auto r = Chown(Root(), f, 42, 43);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uid, 42u);
  EXPECT_EQ(r->gid, 43u);
}

TEST_P(AttrPermTest, ChownClearsSetuidAndGroupExecSetgidOnFiles) {
  Ino f = MustCreate(kRootIno, "f", 06755);
  EXPECT_EQ(Chown(Root(), f, 5, std::nullopt)->mode, 0755u);
  Ino g = MustCreate(kRootIno, "g", 02644);  // setgid without group-exec: kept
  EXPECT_EQ(Chown(Root(), g, 5, std::nullopt)->mode, 02644u);
  Ino d = MustMkdir(kRootIno, "d", 06755);  // directories keep both
  EXPECT_EQ(Chown(Root(), d, 5, std::nullopt)->mode, 06755u);
}

TEST_P(AttrPermTest, UtimensRules) {
  Ino f = MustCreate(kRootIno, "f", 0666, User(1000, 100));
  SetAttrRequest now;
  now.mask = kSetAtimeNow | kSetMtimeNow;
  // A writer who is not the owner may set times to now, not to explicit values.
  EXPECT_TRUE(meta().SetAttr(User(1001, 101), f, now).ok());
  SetAttrRequest exact;
  exact.mask = kSetAtime | kSetMtime;
  exact.atime = {1000, 5};
  exact.mtime = {2000, 6};
  EXPECT_EQ(meta().SetAttr(User(1001, 101), f, exact).code(), Code::kNotPermitted);
  auto a = meta().SetAttr(User(1000, 100), f, exact);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->atime, (Timespec{1000, 5}));
  EXPECT_EQ(a->mtime, (Timespec{2000, 6}));
  EXPECT_GT(a->ctime.sec, 2000);  // ctime is now
  ASSERT_TRUE(Chmod(User(1000, 100), f, 0644).ok());
  EXPECT_EQ(meta().SetAttr(User(1001, 101), f, now).code(), Code::kPermissionDenied);
  // Only mtime given: atime unchanged.
  SetAttrRequest m;
  m.mask = kSetMtime;
  m.mtime = {3000, 0};
  auto b = meta().SetAttr(Root(), f, m);
  EXPECT_EQ(b->atime, (Timespec{1000, 5}));
  EXPECT_EQ(b->mtime, (Timespec{3000, 0}));
}

TEST_P(AttrPermTest, SetAttrOnMissingInode) {
  EXPECT_EQ(Chmod(Root(), 55555, 0600).code(), Code::kNotFound);
}

TEST_P(AttrPermTest, AccessFollowsModeBits) {
  Ino f = MustCreate(kRootIno, "f", 0640, User(1000, 100));
  EXPECT_TRUE(meta().Access(User(1000, 1), f, 6).ok());
  EXPECT_TRUE(meta().Access(User(2000, 100), f, 4).ok());
  EXPECT_EQ(meta().Access(User(2000, 100), f, 2).code(), Code::kPermissionDenied);
  EXPECT_EQ(meta().Access(User(2000, 2000), f, 4).code(), Code::kPermissionDenied);
  EXPECT_EQ(meta().Access(Root(), f, 1).code(), Code::kPermissionDenied);
  EXPECT_TRUE(meta().Access(Root(), f, 6).ok());
}

TEST_P(AttrPermTest, StickyDirectoryProtectsOthersFiles) {
  Ino tmp = MustMkdir(kRootIno, "tmp", 01777);
  MustCreate(tmp, "alice", 0644, User(1000, 1000));
  MustCreate(tmp, "bob", 0644, User(1001, 1001));
  EXPECT_EQ(meta().Unlink(User(1001, 1001), tmp, "alice").code(), Code::kNotPermitted);
  EXPECT_EQ(meta().Rename(User(1001, 1001), tmp, "alice", tmp, "mine", 0).code(),
            Code::kNotPermitted);
  // Replacing someone else's file by rename is refused too.
  EXPECT_EQ(meta().Rename(User(1001, 1001), tmp, "bob", tmp, "alice", 0).code(),
            Code::kNotPermitted);
  EXPECT_TRUE(meta().Unlink(User(1001, 1001), tmp, "bob").ok());
  EXPECT_TRUE(meta().Unlink(User(1000, 1000), tmp, "alice").ok());
  MustMkdir(tmp, "adir", 0777, User(1000, 1000));
  EXPECT_EQ(meta().Rmdir(User(1001, 1001), tmp, "adir").code(), Code::kNotPermitted);
  EXPECT_TRUE(meta().Rmdir(Root(), tmp, "adir").ok());
}

TEST_P(AttrPermTest, SetgidDirectoryHandsDownGroup) {
  Ino shared = MustMkdir(kRootIno, "shared", 02777);
  ASSERT_TRUE(Chown(Root(), shared, std::nullopt, 500).ok());
  auto f = meta().Mknod(User(1000, 100), shared, "f", FileType::kRegular, 0644, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->attr.gid, 500u);
  EXPECT_EQ(f->attr.mode & 02000, 0u);
  auto d = meta().Mkdir(User(1000, 100), shared, "sub", 0755);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attr.gid, 500u);
  EXPECT_EQ(d->attr.mode, 02755u);  // setgid inherited by subdirectories
  auto dd = meta().Mkdir(User(1000, 100), d->ino, "deeper", 0700);
  EXPECT_EQ(dd->attr.gid, 500u);
  EXPECT_EQ(dd->attr.mode, 02700u);
  // A group-exec setgid file created by a non-member loses setgid.
  auto x = meta().Mknod(User(1000, 100), shared, "x", FileType::kRegular, 02755, 0);
  EXPECT_EQ(x->attr.mode, 0755u);
  auto y = meta().Mknod(User(1000, 100, {500}), shared, "y", FileType::kRegular, 02755, 0);
  EXPECT_EQ(y->attr.mode, 02755u);
  // Outside a setgid directory the caller's group is used.
  auto plain = meta().Mknod(User(1000, 100), kRootIno, "plain", FileType::kRegular, 0644, 0);
  EXPECT_EQ(plain->attr.gid, 100u);
}

TEST_P(AttrPermTest, WriteAndSearchNeededToCreateAndRemove) {
  Ino d = MustMkdir(kRootIno, "d", 0755, User(1000, 1000));
  EXPECT_TRUE(meta().Mknod(User(1000, 1000), d, "mine", FileType::kRegular, 0644, 0).ok());
  EXPECT_EQ(meta().Mknod(User(1001, 1000), d, "x", FileType::kRegular, 0644, 0).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(meta().Unlink(User(1001, 1000), d, "mine").code(), Code::kPermissionDenied);
  EXPECT_EQ(meta().Link(User(1001, 1000), MustGetAttr(kRootIno).parent, d, "l").code(),
            Code::kNotPermitted);  // the root is a directory: no hard link
  Ino wo = MustMkdir(kRootIno, "writeonly", 0733, User(1000, 1000));
  EXPECT_TRUE(meta().Mknod(User(1001, 1001), wo, "drop", FileType::kRegular, 0644, 0).ok());
  Ino nox = MustMkdir(kRootIno, "nosearch", 0766, User(1000, 1000));
  EXPECT_EQ(meta().Mknod(User(1001, 1001), nox, "x", FileType::kRegular, 0644, 0).code(),
            Code::kPermissionDenied);
}

}  // namespace
STRATA_META_INSTANTIATE(AttrPermTest);
}  // namespace strata::meta::testing

namespace strata::meta::testing {
namespace {

TEST_P(AttrPermTest, SetAttrSizeTruncatesAndChargesUsage) {
  Ino d = MustMkdir(kRootIno, "d", 0777);
  Ino f = MustCreate(d, "f", 0644, User(1000, 1000));
  SetAttrRequest r;
  r.mask = kSetSize | kSetMode;
  r.size = 10000;
  r.mode = 0600;
  auto a = meta().SetAttr(User(1000, 1000), f, r);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->length, 10000u);
  EXPECT_EQ(a->mode, 0600u);
  EXPECT_EQ(meta().GetDirUsage(d)->bytes, 10000);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 10000u);
  r.mask = kSetSize;
  r.size = 10;
  EXPECT_EQ(meta().SetAttr(User(2000, 2000), f, r).code(), Code::kPermissionDenied);
  ASSERT_TRUE(meta().Unlink(Root(), d, "f").ok());
  EXPECT_EQ(meta().GetDirUsage(d)->bytes, 0);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 0u);
  ExpectConsistent();
}

}  // namespace
}  // namespace strata::meta::testing
