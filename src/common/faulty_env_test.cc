#include "common/faulty_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "common/mem_env.h"
#include "common/posix_env.h"

namespace strata {
namespace {

TEST(FaultyEnvTest, NoSpaceOnWriteUnderAPrefixOnly) {
  MemEnv mem;
  FaultyEnv env(&mem);
  ASSERT_TRUE(env.CreateDirs("/cache").ok());
  ASSERT_TRUE(env.CreateDirs("/staging").ok());
  ASSERT_TRUE(env.WriteFileAtomic("/cache/blk", "old").ok());
  env.AddRule({.op = FaultOp::kWrite, .path_prefix = "/cache/", .error = ENOSPC});

  Status s = env.WriteFileAtomic("/cache/blk", "new");
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_NE(s.message().find("injected fault: append /cache/blk.tmp."), std::string::npos)
      << s.ToString();
  EXPECT_EQ(*env.ReadFile("/cache/blk"), "old");                  // untouched
  EXPECT_EQ(mem.ListDir("/cache")->size(), 1u);                   // temporary file removed
  EXPECT_TRUE(env.WriteFileAtomic("/staging/blk", "fine").ok());  // other prefix unaffected
  EXPECT_EQ(env.faults_injected(), 1u);

  env.ClearRules();
  EXPECT_TRUE(env.WriteFileAtomic("/cache/blk", "new").ok());
  EXPECT_EQ(*env.ReadFile("/cache/blk"), "new");
}

TEST(FaultyEnvTest, EioOnEveryOtherFsyncOnlyWhenSyncing) {
  MemEnv mem;
  FaultyEnv env(&mem);
  env.AddRule({.op = FaultOp::kSync, .error = EIO, .every_nth = 2});
  // Without sync no fsync happens, so nothing fails.
  EXPECT_TRUE(env.WriteFileAtomic("/a", "1").ok());
  EXPECT_EQ(env.faults_injected(), 0u);
  // With sync: file fsync (call 1, passes) then directory fsync (call 2, fails). The file is
  // already in place, but the caller learns that durability was not reached.
  Status s = env.WriteFileAtomic("/b", "2", {.sync = true});
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("fsync /"), std::string::npos) << s.ToString();
  // Next: file fsync is call 3 (passes), directory fsync call 4 (fails) again.
  EXPECT_EQ(env.WriteFileAtomic("/c", "3", {.sync = true}).code(), Code::kIOError);
  EXPECT_EQ(env.faults_injected(), 2u);
}

TEST(FaultyEnvTest, MaxFaultsStopsInjecting) {
  MemEnv mem;
  FaultyEnv env(&mem);
  env.AddRule({.op = FaultOp::kOpen, .path_prefix = "/x", .error = EIO, .max_faults = 2});
  EXPECT_EQ(env.WriteFileAtomic("/x1", "a").code(), Code::kIOError);
  EXPECT_EQ(env.WriteFileAtomic("/x1", "a").code(), Code::kIOError);
  EXPECT_TRUE(env.WriteFileAtomic("/x1", "a").ok());  // a transient fault, now over
  EXPECT_EQ(env.faults_injected(), 2u);
}

TEST(FaultyEnvTest, ReadsRenamesAndLocksCanFail) {
  MemEnv mem;
  FaultyEnv env(&mem);
  ASSERT_TRUE(env.WriteFileAtomic("/f", "data").ok());
  auto f = env.NewRandomAccessFile("/f");
  ASSERT_TRUE(f.ok());
  env.AddRule({.op = FaultOp::kRead, .error = EIO});
  env.AddRule({.op = FaultOp::kRename, .path_prefix = "/g", .error = EXDEV});
  env.AddRule({.op = FaultOp::kLock, .error = ENOLCK});
  EXPECT_EQ((*f)->Read(0, 4).code(), Code::kIOError);
  EXPECT_EQ(env.Rename("/f", "/g").code(), Code::kCrossDevice);  // matches the target path
  EXPECT_TRUE(mem.Stat("/f").ok());
  EXPECT_FALSE(env.LockFile("/l", LockType::kExclusive, false).ok());
}

TEST(FaultyEnvTest, SyncFileAndCreateDirCanFail) {
  MemEnv mem;
  FaultyEnv env(&mem);
  ASSERT_TRUE(env.WriteFileAtomic("/f", "data").ok());
  env.AddRule({.op = FaultOp::kSync, .path_prefix = "/f", .error = EIO});
  env.AddRule({.op = FaultOp::kMkdir, .path_prefix = "/full", .error = ENOSPC});
  Status s = env.SyncFile("/f");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.message().find("injected fault: fsync /f"), std::string::npos) << s.ToString();
  EXPECT_EQ(env.CreateDir("/full").code(), Code::kNoSpace);
  EXPECT_EQ(mem.Stat("/full").code(), Code::kNotFound);  // nothing done in the target
  EXPECT_TRUE(env.CreateDir("/other").ok());
  EXPECT_EQ(env.faults_injected(), 2u);
}

TEST(FaultyEnvTest, WrapsThePosixEnvToo) {
  char tmpl[] = "/tmp/strata_faulty_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  PosixEnv posix;
  FaultyEnv env(&posix);
  env.AddRule({.op = FaultOp::kWrite, .path_prefix = dir, .error = ENOSPC});
  EXPECT_EQ(env.WriteFileAtomic(dir + "/f", "x").code(), Code::kNoSpace);
  EXPECT_TRUE(posix.ListDir(dir)->empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata
