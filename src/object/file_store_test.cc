// FileStore behaviour beyond the shared conformance suite (tests/object): the on-disk layout,
// name escaping, temporary files, several processes at once, and errors a user would see.
#include "object/file_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "tests/support/process.h"

namespace strata::object {
namespace {

// Opens through the interface type, as every caller does (default arguments live there).
Result<std::unique_ptr<ObjectStore>> OpenStore(const std::string& dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileStore> s, FileStore::Open(dir));
  return std::unique_ptr<ObjectStore>(std::move(s));
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> AllKeys(ObjectStore& store) {
  std::vector<std::string> keys;
  ListOptions opts;
  while (true) {
    auto page = store.List(opts);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    for (auto& o : page->objects) keys.push_back(o.key);
    if (!page->truncated) break;
    opts.continuation = page->next_continuation;
  }
  return keys;
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("filestore");
    auto s = OpenStore(dir_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string dir_;
  std::unique_ptr<ObjectStore> store_;  // the interface, as callers see it
};

TEST_F(FileStoreTest, KeysArePlainFilesUnderTheRoot) {
  ASSERT_TRUE(store_->Put("vol/chunks/0/0/1_0_4", "abcd").ok());
  std::ifstream in(dir_ + "/vol/chunks/0/0/1_0_4");
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body, "abcd");
}

// PutParts writes the parts one after the other, as one object, atomically like Put.
TEST_F(FileStoreTest, PutPartsStoresTheConcatenation) {
  const std::string big(1 << 20, 'b');
  ASSERT_TRUE(store_->PutParts("vol/k", {big, "", "trailer"}, {}).ok());
  EXPECT_EQ(*store_->Get("vol/k"), big + "trailer");
  ASSERT_TRUE(store_->PutParts("vol/k", {"new"}, {.sync = true}).ok());  // replaces
  EXPECT_EQ(*store_->Get("vol/k"), "new");
  ASSERT_TRUE(store_->PutParts("vol/empty", {}, {}).ok());
  EXPECT_EQ(*store_->Get("vol/empty"), "");
  EXPECT_EQ(AllKeys(*store_), (std::vector<std::string>{"vol/empty", "vol/k"}));  // no temps
  EXPECT_FALSE(store_->PutParts("", {"x"}, {}).ok());  // the key is checked as for Put
}

TEST_F(FileStoreTest, AwkwardKeysRoundTripAndListInOrder) {
  std::vector<std::string> keys = {"%",    "%25", "b//c", "a/",     "a/.",
                                   "a/..", "a/b", "a-c",  "x y/z é"};
  for (const auto& k : keys) ASSERT_TRUE(store_->Put(k, "v:" + k).ok()) << k;
  for (const auto& k : keys) {
    auto got = store_->Get(k);
    ASSERT_TRUE(got.ok()) << k << ": " << got.status().ToString();
    EXPECT_EQ(*got, "v:" + k);
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(AllKeys(*store_), sorted);
  EXPECT_TRUE(Exists(dir_ + "/a/%"));       // key "a/"
  EXPECT_TRUE(Exists(dir_ + "/%25"));       // key "%"
  EXPECT_TRUE(Exists(dir_ + "/a/%2E%2E"));  // key "a/.."
}

TEST_F(FileStoreTest, ForeignAndTemporaryFilesAreNotListed) {
  ASSERT_TRUE(store_->Put("a/real", "1").ok());
  std::ofstream(dir_ + "/a/%tmp-1-dead-0") << "half written";
  std::ofstream(dir_ + "/a/%41") << "non-canonical spelling of A";
  auto upload = store_->CreateMultipart("big");
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(AllKeys(*store_), std::vector<std::string>{"a/real"});
}

TEST_F(FileStoreTest, DeleteRemovesDirectoriesItEmpties) {
  ASSERT_TRUE(store_->Put("v/c/0/0/1", "x").ok());
  ASSERT_TRUE(store_->Put("v/keep", "y").ok());
  ASSERT_TRUE(store_->Delete("v/c/0/0/1").ok());
  EXPECT_FALSE(Exists(dir_ + "/v/c"));
  EXPECT_TRUE(Exists(dir_ + "/v/keep"));
  EXPECT_TRUE(Exists(dir_));
}

TEST_F(FileStoreTest, ObjectAndDirectoryOfKeysConflictClearly) {
  ASSERT_TRUE(store_->Put("a/b", "1").ok());
  Status s = store_->Put("a", "2");
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  ASSERT_TRUE(store_->Put("c", "1").ok());
  s = store_->Put("c/d", "2");
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  EXPECT_EQ(store_->Get("a").code(), Code::kNotFound);  // a directory is not an object
}

TEST_F(FileStoreTest, SyncPutIsReadable) {
  PutOptions opts;
  opts.sync = true;
  ASSERT_TRUE(store_->Put("new/dirs/k", "durable", opts).ok());
  auto got = store_->Get("new/dirs/k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "durable");
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Sync makes stored files durable in place: no byte, inode or listing changes (a rewrite
// through a temporary file would give a new inode), and what is not an object is skipped.
TEST_F(FileStoreTest, SyncFlushesInPlaceAndSkipsWhatIsNotAnObject) {
  const std::vector<std::string> keys = {"vol/chunks/0/0/1_0_4", "vol/chunks/0/0/2_0_3",
                                         "vol/chunks/0/1/1001_0_2", "top"};
  const std::vector<std::string> bodies = {"abcd", "efg", "hi", ""};
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(store_->Put(keys[i], bodies[i]).ok());
  std::vector<ino_t> inodes;
  for (const auto& k : keys) inodes.push_back(InodeOf(dir_ + "/" + k));
  auto before = store_->Head(keys[0]);
  ASSERT_TRUE(before.ok());

  std::vector<std::string> asked = keys;
  asked.push_back("vol/chunks/9/9/missing");  // never stored
  asked.push_back("top/below");               // its parent is an object: missing, as for Get
  asked.push_back("vol/chunks");              // a directory of keys, not an object
  ASSERT_TRUE(store_->Put("gone/k", "x").ok());
  ASSERT_TRUE(store_->Delete("gone/k").ok());  // deleted, and its directory pruned
  asked.push_back("gone/k");
  Status st = store_->Sync(asked);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(store_->Sync({}).ok());

  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(*store_->Get(keys[i]), bodies[i]) << keys[i];
    EXPECT_EQ(InodeOf(dir_ + "/" + keys[i]), inodes[i]) << keys[i] << " was rewritten";
  }
  EXPECT_EQ(store_->Head(keys[0])->mtime_ns, before->mtime_ns);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(AllKeys(*store_), sorted);  // Sync created nothing (no missing key, no temp file)
  EXPECT_FALSE(Exists(dir_ + "/gone"));
}

// A key whose path cannot be opened is an error, named in the message; the other keys of the
// call are still flushed, and a bad key name is refused as by every other operation.
TEST_F(FileStoreTest, SyncReportsPathsItCannotOpen) {
  ASSERT_TRUE(store_->Put("ok/k", "v").ok());
  // A directory that is a symbolic link to itself: every path below it fails with ELOOP,
  // whoever runs the test (root ignores permission bits, not symlink loops).
  ASSERT_EQ(::symlink("loop", (dir_ + "/loop").c_str()), 0);
  EXPECT_FALSE(store_->Get("loop/k").ok());
  EXPECT_NE(store_->Get("loop/k").code(), Code::kNotFound);  // Get says the same
  Status st = store_->Sync({"loop/k", "ok/k"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("loop/k"), std::string::npos) << st.ToString();
  EXPECT_EQ(*store_->Get("ok/k"), "v");
  EXPECT_EQ(store_->Sync({std::string(300, 'x')}).code(), Code::kNameTooLong);
}

TEST_F(FileStoreTest, LongSegmentIsNameTooLong) {
  EXPECT_EQ(store_->Put(std::string(300, 'x'), "v").code(), Code::kNameTooLong);
}

TEST_F(FileStoreTest, MultipartCompleteChecksPartsAndLeavesNothingOnFailure) {
  auto id = store_->CreateMultipart("mp");
  ASSERT_TRUE(id.ok());
  auto e1 = store_->UploadPart("mp", *id, 1, "one");
  ASSERT_TRUE(e1.ok());
  // Wrong etag, a part never uploaded, parts out of order, the wrong key: all refused.
  EXPECT_EQ(store_->CompleteMultipart("mp", *id, {{1, "bad", 3}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->CompleteMultipart("mp", *id, {{1, *e1, 3}, {2, *e1, 3}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store_->CompleteMultipart("mp", *id, {{2, *e1, 3}, {1, *e1, 3}}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store_->CompleteMultipart("other", *id, {{1, *e1, 3}}).code(), Code::kNotFound);
  EXPECT_EQ(store_->Get("mp").code(), Code::kNotFound);
  EXPECT_EQ(store_->UploadPart("mp", "../../etc", 1, "x").code(), Code::kNotFound);
  // The upload survives the refusals and completes; its staging directory goes away.
  ASSERT_TRUE(store_->CompleteMultipart("mp", *id, {{1, *e1, 3}}).ok());
  EXPECT_EQ(*store_->Get("mp"), "one");
  EXPECT_FALSE(Exists(dir_ + "/%multipart/" + *id));
  EXPECT_EQ(AllKeys(*store_), std::vector<std::string>{"mp"});
}

TEST(FileStoreOpenTest, CreatesMissingDirectoryOrSaysWhyNot) {
  std::string dir = testing::MakeTempDir("filestore-open");
  auto made = FileStore::Open(dir + "/a/b/c");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_TRUE(Exists(dir + "/a/b/c"));

  FileStore::Options no_create;
  no_create.create_if_missing = false;
  auto missing = FileStore::Open(dir + "/nope", no_create);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_NE(missing.status().ToString().find(dir + "/nope"), std::string::npos);

  std::ofstream(dir + "/plain") << "x";
  auto not_dir = FileStore::Open(dir + "/plain");
  ASSERT_FALSE(not_dir.ok());
  EXPECT_EQ(not_dir.code(), Code::kNotDir);

  EXPECT_EQ(FileStore::Open("relative/path").code(), Code::kInvalidArgument);
  testing::RemoveTree(dir);
}

TEST(FileStoreOpenTest, UnwritableDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere; permission checks cannot fail";
  std::string dir = testing::MakeTempDir("filestore-ro");
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  auto s = FileStore::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  ::chmod(dir.c_str(), 0755);
  testing::RemoveTree(dir);
}

TEST(FileStoreOpenTest, FullDiskIsNoSpace) {
  std::string dir = testing::MakeTempDir("filestore-full");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k") != 0) {
    testing::RemoveTree(dir);
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs CAP_SYS_ADMIN)";
  }
  auto store = OpenStore(dir);
  ASSERT_TRUE(store.ok());
  Status s = (*store)->Put("big", std::string(1 << 20, 'x'));
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  // The failed put leaves neither the object nor a temporary file behind.
  EXPECT_EQ((*store)->Get("big").code(), Code::kNotFound);
  EXPECT_TRUE((*store)->Put("small", "fits").ok());
  ::umount(dir.c_str());
  testing::RemoveTree(dir);
}

// Several processes writing, overwriting and deleting in one store at once: every read
// sees a whole body, and nothing but the final objects remains.
TEST(FileStoreProcessesTest, ConcurrentProcessesNeverSeeHalfObjects) {
  std::string dir = testing::MakeTempDir("filestore-procs");
  constexpr int kProcs = 4;
  constexpr int kRounds = 150;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = OpenStore(dir);
      if (!store.ok()) _exit(2);
      std::string body(64 << 10, static_cast<char>('a' + p));
      for (int i = 0; i < kRounds; ++i) {
        std::string key = "shared/d" + std::to_string(i % 5) + "/k";
        Status put = (*store)->Put(key, body);
        if (!put.ok()) {
          std::fprintf(stderr, "child %d: %s\n", p, put.ToString().c_str());
          _exit(3);
        }
        auto got = (*store)->Get(key);
        if (got.ok()) {
          if (got->size() != body.size()) _exit(4);
          for (char c : *got) {
            if (c != (*got)[0]) _exit(5);
          }
        } else if (!got.status().Is(Code::kNotFound)) {
          _exit(6);
        }
        if (i % 7 == p && !(*store)->Delete(key).ok()) _exit(7);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
  }
  auto store = OpenStore(dir);
  ASSERT_TRUE(store.ok());
  for (const std::string& k : AllKeys(**store)) {
    auto got = (*store)->Get(k);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->size(), size_t{64 << 10}) << k;
  }
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace strata::object
