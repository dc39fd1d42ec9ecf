// Conformance: xattrs, usage counters, statfs and volume limits.
#include "meta/schema.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class XattrUsageTest : public MetaTest {};

constexpr int kCreate = 1, kReplace = 2;

TEST_P(XattrUsageTest, SetGetListRemoveWithFlags) {
  Ino f = MustCreate(kRootIno, "f");
  EXPECT_EQ(meta().GetXattr(Root(), f, "user.a").code(), Code::kNoData);
  ASSERT_TRUE(meta().SetXattr(Root(), f, "user.a", "1", 0).ok());
  EXPECT_EQ(meta().SetXattr(Root(), f, "user.a", "2", kCreate).code(), Code::kAlreadyExists);
  EXPECT_EQ(meta().SetXattr(Root(), f, "user.b", "2", kReplace).code(), Code::kNoData);
  ASSERT_TRUE(meta().SetXattr(Root(), f, "user.a", "3", kReplace).ok());
  ASSERT_TRUE(meta().SetXattr(Root(), f, "user.b", std::string("\0bin", 4), kCreate).ok());
  EXPECT_EQ(*meta().GetXattr(Root(), f, "user.a"), "3");
  EXPECT_EQ(*meta().GetXattr(Root(), f, "user.b"), std::string("\0bin", 4));
  EXPECT_EQ(*meta().ListXattr(Root(), f), (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_TRUE(meta().RemoveXattr(Root(), f, "user.a").ok());
  EXPECT_EQ(meta().RemoveXattr(Root(), f, "user.a").code(), Code::kNoData);
  EXPECT_EQ(*meta().ListXattr(Root(), f), std::vector<std::string>{"user.b"});
  EXPECT_EQ(meta().GetXattr(Root(), 4242424, "user.a").code(), Code::kNotFound);
  // Removing the file removes its xattrs.
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "f").ok());
  EXPECT_EQ(meta().ListXattr(Root(), f).code(), Code::kNotFound);
}

TEST_P(XattrUsageTest, SizeLimits) {
  Ino f = MustCreate(kRootIno, "f");
  EXPECT_TRUE(meta().SetXattr(Root(), f, "user.big", std::string(kMaxXattrValueLen, 'v'), 0).ok());
  EXPECT_EQ(meta().SetXattr(Root(), f, "user.big", std::string(kMaxXattrValueLen + 1, 'v'), 0)
                .code(),
            Code::kTooBig);
  EXPECT_EQ(meta().SetXattr(Root(), f, "user." + std::string(251, 'n'), "v", 0).code(),
            Code::kOutOfRange);
  EXPECT_EQ(meta().SetXattr(Root(), f, "", "v", 0).code(), Code::kOutOfRange);
  EXPECT_EQ(meta().SetXattr(Root(), f, "user.x", "v", 4).code(), Code::kInvalidArgument);
}

TEST_P(XattrUsageTest, NamespacesAndPermissions) {
  Ino f = MustCreate(kRootIno, "f", 0644, User(1000, 1000));
  const Context owner = User(1000, 1000), other = User(2000, 2000);
  EXPECT_TRUE(meta().SetXattr(owner, f, "user.k", "v", 0).ok());
  EXPECT_EQ(meta().SetXattr(other, f, "user.k", "w", 0).code(), Code::kPermissionDenied);
  EXPECT_EQ(*meta().GetXattr(other, f, "user.k"), "v");  // 0644: others may read
  EXPECT_EQ(meta().RemoveXattr(other, f, "user.k").code(), Code::kPermissionDenied);
  EXPECT_EQ(meta().SetXattr(owner, f, "trusted.t", "v", 0).code(), Code::kNotPermitted);
  EXPECT_TRUE(meta().SetXattr(Root(), f, "trusted.t", "v", 0).ok());
  EXPECT_EQ(meta().GetXattr(owner, f, "trusted.t").code(), Code::kNoData);
  EXPECT_EQ(*meta().ListXattr(owner, f), std::vector<std::string>{"user.k"});
  EXPECT_EQ(meta().ListXattr(Root(), f)->size(), 2u);
  EXPECT_EQ(meta().SetXattr(owner, f, "security.s", "v", 0).code(), Code::kNotPermitted);
  EXPECT_TRUE(meta().SetXattr(Root(), f, "security.s", "v", 0).ok());
  EXPECT_EQ(*meta().GetXattr(other, f, "security.s"), "v");
  EXPECT_EQ(meta().SetXattr(Root(), f, "system.posix_acl_access", "v", 0).code(),
            Code::kNotSupported);
  EXPECT_EQ(meta().GetXattr(Root(), f, "system.posix_acl_default").code(), Code::kNotSupported);
  EXPECT_EQ(meta().SetXattr(Root(), f, "weird.ns", "v", 0).code(), Code::kNotSupported);
  // user.* only on regular files and directories.
  auto fifo = meta().Mknod(Root(), kRootIno, "p", FileType::kFifo, 0666, 0);
  EXPECT_EQ(meta().SetXattr(Root(), fifo->ino, "user.k", "v", 0).code(), Code::kNotPermitted);
}

TEST_P(XattrUsageTest, UsageFollowsCreatesRemovesAndMoves) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  MustCreate(a, "f1");
  MustCreate(a, "f2");
  MustMkdir(a, "sub");
  EXPECT_EQ(meta().GetDirUsage(a)->inodes, 3);
  EXPECT_EQ(meta().GetDirUsage(kRootIno)->inodes, 2);
  auto st = meta().GetStatFs(Root(), kRootIno);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->used_inodes, 5u);
  EXPECT_GE(st->total_bytes, 1ULL << 50);  // unlimited
  ASSERT_TRUE(meta().Rename(Root(), a, "f1", b, "f1", 0).ok());
  EXPECT_EQ(meta().GetDirUsage(a)->inodes, 2);
  EXPECT_EQ(meta().GetDirUsage(b)->inodes, 1);
  ASSERT_TRUE(meta().Unlink(Root(), a, "f2").ok());
  ASSERT_TRUE(meta().Rmdir(Root(), a, "sub").ok());
  EXPECT_EQ(meta().GetDirUsage(a)->inodes, 0);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_inodes, 3u);
  Ino f = MustCreate(kRootIno, "plain");
  EXPECT_EQ(meta().GetDirUsage(f).code(), Code::kNotDir);
  EXPECT_EQ(meta().GetDirUsage(5555555).code(), Code::kNotFound);
}

TEST_P(XattrUsageTest, InodeLimitGivesNoSpace) {
  VolumeFormat f = DefaultFormat();
  f.max_inodes = 3;
  Reformat(f);
  MustCreate(kRootIno, "1");
  MustMkdir(kRootIno, "2");
  MustCreate(kRootIno, "3");
  EXPECT_EQ(meta().Mknod(Root(), kRootIno, "4", FileType::kRegular, 0644, 0).code(),
            Code::kNoSpace);
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "4").code(), Code::kNotFound);  // nothing written
  auto st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->total_inodes, 3u);
  EXPECT_EQ(st->used_inodes, 3u);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "1").ok());
  EXPECT_TRUE(meta().Mknod(Root(), kRootIno, "4", FileType::kRegular, 0644, 0).ok());
  // Raising the limit with UpdateFormat takes effect at once, for every client.
  ASSERT_TRUE(meta().UpdateFormat([](VolumeFormat& v) {
    v.max_inodes = 10;
    return Status::OK();
  }).ok());
  EXPECT_TRUE(meta().Mkdir(Root(), kRootIno, "5", 0755).ok());
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->total_inodes, 10u);
}

TEST_P(XattrUsageTest, CapacityIsReported) {
  VolumeFormat f = DefaultFormat();
  f.capacity_bytes = 1 << 30;
  Reformat(f);
  auto st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->total_bytes, 1u << 30);
  EXPECT_EQ(st->used_bytes, 0u);
}

// The volume counters are sharded by directory (16 shards); limits must hold over the sum.
TEST_P(XattrUsageTest, LimitsHoldAcrossDirectoriesInDifferentShards) {
  VolumeFormat f = DefaultFormat();
  f.max_inodes = 40;
  f.capacity_bytes = 10000;
  Reformat(f);
  std::vector<Ino> dirs;
  for (int i = 0; i < 20; i++) dirs.push_back(MustMkdir(kRootIno, "d" + std::to_string(i)));
  std::vector<Ino> files;
  for (int i = 0; i < 20; i++) files.push_back(MustCreate(dirs[i], "f"));
  for (Ino d : dirs) {
    EXPECT_EQ(meta().Mknod(Root(), d, "g", FileType::kRegular, 0644, 0).code(), Code::kNoSpace);
  }
  EXPECT_EQ(meta().Mkdir(Root(), kRootIno, "more", 0755).code(), Code::kNoSpace);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_inodes, 40u);
  // 20 files x 500 bytes fill the capacity exactly; one more byte anywhere does not fit.
  for (Ino file : files) ASSERT_TRUE(meta().Truncate(Root(), file, 500).ok());
  for (Ino file : files) EXPECT_EQ(meta().Truncate(Root(), file, 501).code(), Code::kNoSpace);
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_bytes, 10000u);
  // Room made in one directory is usable from any other.
  ASSERT_TRUE(meta().Truncate(Root(), files[3], 0).ok());
  ASSERT_TRUE(meta().Unlink(Root(), dirs[5], "f").ok());
  EXPECT_TRUE(meta().Truncate(Root(), files[11], 1500).ok());
  EXPECT_TRUE(meta().Mknod(Root(), dirs[17], "g", FileType::kRegular, 0644, 0).ok());
  auto st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->used_bytes, 10000u);
  EXPECT_EQ(st->used_inodes, 40u);
  ExpectConsistent();
}

// A volume written before the counters were sharded keeps its totals in the unsharded
// `usedSpace` / `usedInodes` keys: they still count, and are never written again.
TEST_P(XattrUsageTest, UnshardedCountersOfOlderVolumesStillCount) {
  const std::string old_space = schema::CounterKey("usedSpace");
  const std::string old_inodes = schema::CounterKey("usedInodes");
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
                txn.Put(old_space, schema::EncodeI64(700));
                txn.Put(old_inodes, schema::EncodeI64(7));
                return Status::OK();
              }).ok());
  auto st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->used_bytes, 700u);
  EXPECT_EQ(st->used_inodes, 7u);
  Ino f1 = MustCreate(kRootIno, "f1");
  ASSERT_TRUE(meta().Truncate(Root(), f1, 300).ok());
  st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->used_bytes, 1000u);
  EXPECT_EQ(st->used_inodes, 8u);
  // The limits count the old keys too.
  ASSERT_TRUE(meta()
                  .UpdateFormat([](VolumeFormat& v) {
                    v.max_inodes = 9;
                    v.capacity_bytes = 1100;
                    return Status::OK();
                  })
                  .ok());
  Ino f2 = MustCreate(kRootIno, "f2");
  EXPECT_EQ(meta().Mknod(Root(), kRootIno, "f3", FileType::kRegular, 0644, 0).code(),
            Code::kNoSpace);
  EXPECT_EQ(meta().Truncate(Root(), f2, 101).code(), Code::kNoSpace);
  EXPECT_TRUE(meta().Truncate(Root(), f2, 100).ok());
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "f1").ok());
  st = meta().GetStatFs(Root(), kRootIno);
  EXPECT_EQ(st->used_bytes, 800u);
  EXPECT_EQ(st->used_inodes, 8u);
  std::optional<std::string> raw_space, raw_inodes;
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
                ASSIGN_OR_RETURN(raw_space, txn.Get(old_space));
                ASSIGN_OR_RETURN(raw_inodes, txn.Get(old_inodes));
                return Status::OK();
              }).ok());
  EXPECT_EQ(schema::DecodeI64(raw_space.value_or("")), 700);
  EXPECT_EQ(schema::DecodeI64(raw_inodes.value_or("")), 7);
}

}  // namespace
STRATA_META_INSTANTIATE(XattrUsageTest);
}  // namespace strata::meta::testing
