// The file:// store on a failing disk: a FaultyEnv over the real PosixEnv (in a temporary
// directory) injects ENOSPC into writes and EIO into fsyncs, and the store must report them
// as kNoSpace / kIOError, naming the key, and leave no temporary file and no partial object.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/faulty_env.h"
#include "common/posix_env.h"
#include "object/file_store.h"
#include "tests/support/process.h"

namespace strata::object {
namespace {

class FileStoreFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("filestore-faults");
    auto s = FileStore::Open(dir_, &faulty_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);  // used through the interface, as every caller does
  }
  void TearDown() override {
    store_.reset();
    testing::RemoveTree(dir_);
  }

  // Every file below `rel` on the disk, as paths relative to the root, seen through the
  // PosixEnv itself (so temporary files, which the store never lists, show up too).
  std::vector<std::string> FilesOnDisk(const std::string& rel = "") {
    std::vector<std::string> out;
    Walk(rel, &out);
    return out;
  }

  std::string dir_;
  PosixEnv posix_;
  FaultyEnv faulty_{&posix_};
  std::unique_ptr<ObjectStore> store_;

 private:
  void Walk(const std::string& rel, std::vector<std::string>* out) {
    auto entries = posix_.ListDir(rel.empty() ? dir_ : dir_ + "/" + rel);
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    for (const DirEntry& e : *entries) {
      std::string child = rel.empty() ? e.name : rel + "/" + e.name;
      if (e.type == FileType::kDirectory) {
        Walk(child, out);
      } else {
        out->push_back(child);
      }
    }
  }
};

TEST_F(FileStoreFaultsTest, NoSpaceOnABlockWriteLeavesNothingBehind) {
  const std::string key = "vol/chunks/0/0/7_0_65536";
  ASSERT_TRUE(store_->Put("vol/chunks/0/0/1_0_4", "old!").ok());
  faulty_.AddRule({.op = FaultOp::kWrite, .path_prefix = dir_ + "/vol/", .error = ENOSPC});

  Status s = store_->Put(key, std::string(65536, 'b'));
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_NE(s.ToString().find(key), std::string::npos) << s.ToString();
  EXPECT_EQ(store_->Get(key).code(), Code::kNotFound);
  // An overwrite that fails keeps the old body whole.
  EXPECT_EQ(store_->Put("vol/chunks/0/0/1_0_4", "new!").code(), Code::kNoSpace);
  EXPECT_EQ(*store_->Get("vol/chunks/0/0/1_0_4"), "old!");
  // Neither a temporary file nor a partial object is on the disk.
  EXPECT_EQ(FilesOnDisk(), std::vector<std::string>{"vol/chunks/0/0/1_0_4"});
  EXPECT_EQ(faulty_.faults_injected(), 2u);

  faulty_.ClearRules();  // space freed
  ASSERT_TRUE(store_->Put(key, std::string(65536, 'b')).ok());
  EXPECT_EQ(store_->Get(key)->size(), 65536u);
}

TEST_F(FileStoreFaultsTest, FsyncErrorFailsSyncedPutsAndSync) {
  faulty_.AddRule({.op = FaultOp::kSync, .path_prefix = dir_ + "/vol/", .error = EIO});
  // Without sync nothing is fsync'ed, so nothing fails.
  ASSERT_TRUE(store_->Put("vol/a", "unsynced").ok());
  EXPECT_EQ(faulty_.faults_injected(), 0u);

  PutOptions sync;
  sync.sync = true;
  Status s = store_->Put("vol/b", "durable?", sync);
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.ToString().find("vol/b"), std::string::npos) << s.ToString();
  EXPECT_EQ(store_->Get("vol/b").code(), Code::kNotFound);  // not reported stored: not there
  EXPECT_EQ(FilesOnDisk(), std::vector<std::string>{"vol/a"});

  s = store_->Sync({"vol/a"});
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.ToString().find("vol/a"), std::string::npos) << s.ToString();
  EXPECT_EQ(*store_->Get("vol/a"), "unsynced");  // a failed fsync does not lose the object

  faulty_.ClearRules();
  EXPECT_TRUE(store_->Sync({"vol/a"}).ok());
  EXPECT_TRUE(store_->Put("vol/b", "durable", sync).ok());
}

// A failing directory fsync after the rename: the object is in place but the caller learns
// that it is not known to be durable.
TEST_F(FileStoreFaultsTest, DirectoryFsyncErrorIsReported) {
  ASSERT_TRUE(store_->Put("vol/a", "x").ok());
  faulty_.AddRule({.op = FaultOp::kSync,
                   .path_prefix = dir_ + "/vol",
                   .error = EIO,
                   .every_nth = 2});  // the file's fsync passes, its directory's fails
  PutOptions sync;
  sync.sync = true;
  EXPECT_EQ(store_->Put("vol/b", "y", sync).code(), Code::kIOError);
  EXPECT_EQ(store_->Sync({"vol/a"}).code(), Code::kIOError);
  EXPECT_EQ(faulty_.faults_injected(), 2u);
}

TEST_F(FileStoreFaultsTest, MultipartPartOnAFullDiskLeavesNoPart) {
  auto id = store_->CreateMultipart("big");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto one = store_->UploadPart("big", *id, 1, "part one");
  ASSERT_TRUE(one.ok());
  faulty_.AddRule({.op = FaultOp::kWrite, .error = ENOSPC});
  EXPECT_EQ(store_->UploadPart("big", *id, 2, "part two").code(), Code::kNoSpace);
  auto parts = store_->ListParts("big", *id);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ(store_->CompleteMultipart("big", *id, {{1, *one, 8}}).code(), Code::kNoSpace);
  EXPECT_EQ(store_->Get("big").code(), Code::kNotFound);
  faulty_.ClearRules();
  ASSERT_TRUE(store_->CompleteMultipart("big", *id, {{1, *one, 8}}).ok());
  EXPECT_EQ(*store_->Get("big"), "part one");
  EXPECT_EQ(FilesOnDisk(), std::vector<std::string>{"big"});
}

TEST(FileStoreEnvTest, OpenChecksWritabilityThroughTheEnv) {
  std::string dir = testing::MakeTempDir("filestore-env-open");
  PosixEnv posix;
  FaultyEnv faulty(&posix);
  faulty.AddRule({.op = FaultOp::kOpen, .error = EROFS});
  auto s = FileStore::Open(dir, &faulty);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kReadOnly) << s.status().ToString();
  EXPECT_NE(s.status().ToString().find("not writable"), std::string::npos);
  EXPECT_TRUE(posix.ListDir(dir)->empty());  // the probe left nothing
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace strata::object
