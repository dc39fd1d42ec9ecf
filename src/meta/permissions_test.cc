#include <gtest/gtest.h>

#include "meta/internal.h"

namespace strata::meta::internal {
namespace {

Attr File(uint32_t mode, uint32_t uid, uint32_t gid) {
  Attr a;
  a.mode = mode;
  a.uid = uid;
  a.gid = gid;
  return a;
}

Context User(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups = {}) {
  Context c;
  c.uid = uid;
  c.gid = gid;
  c.groups = std::move(groups);
  return c;
}

TEST(CheckAccessTest, OwnerGroupOtherBitsAreChosenByIdentity) {
  Attr f = File(0640, 100, 200);
  EXPECT_TRUE(CheckAccess(User(100, 1), f, 6).ok());
  EXPECT_TRUE(CheckAccess(User(101, 200), f, 4).ok());
  EXPECT_EQ(CheckAccess(User(101, 200), f, 2).code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckAccess(User(102, 300), f, 4).code(), Code::kPermissionDenied);
  EXPECT_TRUE(CheckAccess(User(102, 300), f, 0).ok());  // F_OK
}

TEST(CheckAccessTest, OwnerClassWinsEvenWhenGroupWouldAllow) {
  // mode 0070: the owner is refused although its group may read (POSIX picks one class).
  Attr f = File(0070, 100, 200);
  EXPECT_EQ(CheckAccess(User(100, 200), f, 4).code(), Code::kPermissionDenied);
  EXPECT_TRUE(CheckAccess(User(101, 200), f, 4).ok());
}

TEST(CheckAccessTest, SupplementaryGroupsCount) {
  Attr f = File(0060, 100, 200);
  EXPECT_TRUE(CheckAccess(User(101, 1, {5, 200}), f, 6).ok());
  EXPECT_EQ(CheckAccess(User(101, 1, {5}), f, 4).code(), Code::kPermissionDenied);
}

TEST(CheckAccessTest, RootBypassesExceptExecuteWithoutAnyXBit) {
  Attr f = File(0000, 100, 200);
  EXPECT_TRUE(CheckAccess(User(0, 0), f, 6).ok());
  EXPECT_EQ(CheckAccess(User(0, 0), f, 1).code(), Code::kPermissionDenied);
  f.mode = 0001;
  EXPECT_TRUE(CheckAccess(User(0, 0), f, 1).ok());
  Attr d = File(0000, 100, 200);
  d.type = FileType::kDirectory;
  EXPECT_TRUE(CheckAccess(User(0, 0), d, 1).ok());  // search on a directory
}

TEST(CheckStickyTest, OnlyOwnersOrRootRemoveFromStickyDirs) {
  Attr dir = File(01777, 10, 10);
  dir.type = FileType::kDirectory;
  Attr victim = File(0644, 20, 20);
  EXPECT_EQ(CheckSticky(User(30, 30), dir, victim).code(), Code::kNotPermitted);
  EXPECT_TRUE(CheckSticky(User(20, 30), dir, victim).ok());
  EXPECT_TRUE(CheckSticky(User(10, 30), dir, victim).ok());
  EXPECT_TRUE(CheckSticky(User(0, 0), dir, victim).ok());
  dir.mode = 0777;
  EXPECT_TRUE(CheckSticky(User(30, 30), dir, victim).ok());
}

TEST(CheckNameTest, RejectsWhatAPathComponentCannotBe) {
  EXPECT_TRUE(CheckName("a").ok());
  EXPECT_TRUE(CheckName(std::string(255, 'x')).ok());
  EXPECT_EQ(CheckName(std::string(256, 'x')).code(), Code::kNameTooLong);
  EXPECT_EQ(CheckName("").code(), Code::kNotFound);
  EXPECT_EQ(CheckName(".").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckName("..").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckName("a/b").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckName(std::string("a\0b", 3)).code(), Code::kInvalidArgument);
}

TEST(ContextTest, InGroupCoversPrimaryAndSupplementary) {
  Context c = User(1, 7, {8, 9});
  EXPECT_TRUE(c.InGroup(7));
  EXPECT_TRUE(c.InGroup(9));
  EXPECT_FALSE(c.InGroup(10));
}

TEST(NowTest, IsAfter2020AndNanosecondsInRange) {
  Timespec t = Now(*SystemClock::Get());
  EXPECT_GT(t.sec, 1577836800);
  EXPECT_LT(t.nsec, 1000000000u);
}

TEST(NowTest, ComesFromTheGivenClock) {
  FakeClock clock(/*wall_nanos=*/1704067200LL * 1000000000LL + 123456789);
  Timespec t = Now(clock);
  EXPECT_EQ(t.sec, 1704067200);
  EXPECT_EQ(t.nsec, 123456789u);
}

}  // namespace
}  // namespace strata::meta::internal
