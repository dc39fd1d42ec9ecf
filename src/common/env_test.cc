// One Env suite, run on PosixEnv (in a fresh temporary directory) and on MemEnv.
#include "common/env.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "common/mem_env.h"
#include "common/posix_env.h"

namespace strata {
namespace {

enum class Kind { kPosix, kMem };

class EnvTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kPosix) {
      char tmpl[] = "/tmp/strata_env_test_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      root_ = tmpl;
      env_ = std::make_unique<PosixEnv>();
    } else {
      root_ = "/root";
      env_ = std::make_unique<MemEnv>();
      ASSERT_TRUE(env_->CreateDirs(root_).ok());
    }
  }
  void TearDown() override {
    if (GetParam() == Kind::kPosix) std::filesystem::remove_all(root_);
  }
  std::string P(std::string_view name) const { return JoinPath(root_, name); }
  void Write(std::string_view name, std::string_view data) {
    ASSERT_TRUE(env_->WriteFileAtomic(P(name), data).ok()) << name;
  }
  std::string Read(std::string_view name) {
    auto r = env_->ReadFile(P(name));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "<error>";
  }
  std::vector<std::string> Names(std::string_view dir = "") {
    auto r = env_->ListDir(dir.empty() ? root_ : P(dir));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (r.ok()) {
      for (auto& e : *r) out.push_back(e.name);
    }
    return out;
  }

  std::string root_;
  std::unique_ptr<Env> env_;
};

using StrList = std::vector<std::string>;

TEST_P(EnvTest, AtomicWriteThenReadBack) {
  Write("a", "hello");
  EXPECT_EQ(Read("a"), "hello");
  Write("a", "replaced, longer");
  EXPECT_EQ(Read("a"), "replaced, longer");
  ASSERT_TRUE(env_->WriteFileAtomic(P("s"), "durable", {.sync = true}).ok());
  EXPECT_EQ(Read("s"), "durable");
  auto info = env_->Stat(P("a"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 16u);
  EXPECT_EQ(info->type, FileType::kRegular);
  // No temporary file is left behind.
  EXPECT_EQ(Names(), (StrList{"a", "s"}));
}

TEST_P(EnvTest, EmptyAndLargeFiles) {
  Write("empty", "");
  EXPECT_EQ(Read("empty"), "");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7 + i / 4096);
  Write("big", big);
  EXPECT_EQ(Read("big"), big);
}

TEST_P(EnvTest, AtomicWriteNoReplaceKeepsTheExistingFile) {
  Write("a", "first");
  Status s = env_->WriteFileAtomic(P("a"), "second", {.no_replace = true});
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Read("a"), "first");
  EXPECT_EQ(Names(), (StrList{"a"}));
  EXPECT_TRUE(env_->WriteFileAtomic(P("b"), "new", {.no_replace = true}).ok());
  EXPECT_EQ(Read("b"), "new");
}

TEST_P(EnvTest, ReadRanges) {
  Write("f", "0123456789");
  auto f = env_->NewRandomAccessFile(P("f"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*(*f)->Read(0, 4), "0123");
  EXPECT_EQ(*(*f)->Read(3, 4), "3456");
  EXPECT_EQ(*(*f)->Read(8, 100), "89");  // short at the end
  EXPECT_EQ(*(*f)->Read(10, 5), "");     // at the end
  EXPECT_EQ(*(*f)->Read(50, 5), "");     // past the end
  EXPECT_EQ(*(*f)->Size(), 10u);
}

// The buffer reads (not zero-filled first) keep exactly the bytes read: cut short at the
// end of the file, whole for a multi-MiB block.
TEST_P(EnvTest, ReadIntoBuffers) {
  Write("f", "0123456789");
  auto f = env_->NewRandomAccessFile(P("f"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*(*f)->ReadToBuffer(3, 4), "3456");
  auto tail = (*f)->ReadToBuffer(8, 1 << 20);  // 1 MiB asked, 2 bytes there
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "89");
  EXPECT_EQ(tail->size(), 2u);
  EXPECT_TRUE((*f)->ReadToBuffer(50, 5)->empty());  // past the end
  std::string big(4 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 131 + i / 4096);
  Write("big", big);
  auto whole = env_->ReadFileToBuffer(P("big"));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_TRUE(*whole == big);
  Write("empty", "");
  EXPECT_TRUE(env_->ReadFileToBuffer(P("empty"))->empty());
  EXPECT_EQ(env_->ReadFileToBuffer(P("nope")).code(), Code::kNotFound);
  ASSERT_TRUE(env_->CreateDirs(P("dir")).ok());
  EXPECT_EQ(env_->ReadFileToBuffer(P("dir")).code(), Code::kIsDir);
}

// ReadFileUncached (O_DIRECT on PosixEnv) gives the same bytes as ReadFileToBuffer for sizes
// that are and are not a multiple of the 4 KiB its reads are aligned to, and the same errors.
TEST_P(EnvTest, UncachedReadsGiveTheFileBytes) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097},
                   size_t{4 * 1024 * 1024 + 8}}) {
    std::string data(n, '\0');
    for (size_t i = 0; i < n; i++) data[i] = static_cast<char>(i * 131 + i / 4096 + n);
    Write("u", data);
    auto got = env_->ReadFileUncached(P("u"));
    ASSERT_TRUE(got.ok()) << n << ": " << got.status().ToString();
    EXPECT_EQ(got->size(), n);
    EXPECT_TRUE(*got == data) << n;
  }
  EXPECT_EQ(env_->ReadFileUncached(P("nope")).code(), Code::kNotFound);
  ASSERT_TRUE(env_->CreateDirs(P("dir")).ok());
  EXPECT_EQ(env_->ReadFileUncached(P("dir")).code(), Code::kIsDir);
}

TEST_P(EnvTest, OpenFileSurvivesRenameAndRemove) {
  Write("f", "content");
  auto f = env_->NewRandomAccessFile(P("f"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(env_->Rename(P("f"), P("g")).ok());
  EXPECT_EQ(*(*f)->Read(0, 100), "content");
  ASSERT_TRUE(env_->RemoveFile(P("g")).ok());
  EXPECT_EQ(*(*f)->Read(0, 100), "content");
  Write("g", "other");  // a new file at the same name is a different file
  EXPECT_EQ(*(*f)->Read(0, 100), "content");
}

TEST_P(EnvTest, OpenModes) {
  auto w = env_->NewWritableFile(P("log"), OpenMode::kAppend);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("ab").ok());
  ASSERT_TRUE((*w)->Append("cd").ok());
  ASSERT_TRUE((*w)->Sync().ok());
  EXPECT_EQ((*w)->Size(), 4u);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE((*w)->Close().ok());  // twice is fine
  EXPECT_EQ((*w)->Append("x").code(), Code::kBadHandle);

  auto again = env_->NewWritableFile(P("log"), OpenMode::kAppend);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Size(), 4u);
  ASSERT_TRUE((*again)->Append("ef").ok());
  ASSERT_TRUE((*again)->Close().ok());
  EXPECT_EQ(Read("log"), "abcdef");

  auto excl = env_->NewWritableFile(P("log"), OpenMode::kCreateNew);
  EXPECT_EQ(excl.code(), Code::kAlreadyExists);
  EXPECT_EQ(Read("log"), "abcdef");

  auto trunc = env_->NewWritableFile(P("log"), OpenMode::kTruncate);
  ASSERT_TRUE(trunc.ok());
  ASSERT_TRUE((*trunc)->Append("z").ok());
  ASSERT_TRUE((*trunc)->Close().ok());
  EXPECT_EQ(Read("log"), "z");
}

TEST_P(EnvTest, MissingThingsAreNotFound) {
  EXPECT_EQ(env_->NewRandomAccessFile(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->ReadFile(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->Stat(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->RemoveFile(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->RemoveDir(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->ListDir(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->Rename(P("nope"), P("x")).code(), Code::kNotFound);
  EXPECT_EQ(env_->SyncDir(P("nope")).code(), Code::kNotFound);
  // A missing parent directory.
  auto w = env_->NewWritableFile(P("no/dir/f"), OpenMode::kTruncate);
  EXPECT_EQ(w.code(), Code::kNotFound);
  Status s = env_->WriteFileAtomic(P("no/dir/f"), "x");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("no/dir/f"), std::string::npos) << s.ToString();
}

TEST_P(EnvTest, DirectoriesAndFilesAreNotConfused) {
  ASSERT_TRUE(env_->CreateDirs(P("d")).ok());
  Write("f", "x");
  EXPECT_EQ(env_->NewRandomAccessFile(P("d")).code(), Code::kIsDir);
  EXPECT_EQ(env_->NewWritableFile(P("d"), OpenMode::kAppend).code(), Code::kIsDir);
  EXPECT_EQ(env_->RemoveFile(P("d")).code(), Code::kIsDir);
  EXPECT_EQ(env_->RemoveDir(P("f")).code(), Code::kNotDir);
  EXPECT_EQ(env_->ListDir(P("f")).code(), Code::kNotDir);
  EXPECT_EQ(env_->CreateDirs(P("f")).code(), Code::kNotDir);
  EXPECT_EQ(env_->CreateDirs(P("f/sub")).code(), Code::kNotDir);
  EXPECT_EQ(env_->Stat(P("d"))->type, FileType::kDirectory);
}

TEST_P(EnvTest, CreateDirsListAndRemove) {
  ASSERT_TRUE(env_->CreateDirs(P("a/b/c")).ok());
  ASSERT_TRUE(env_->CreateDirs(P("a/b/c")).ok());  // idempotent
  ASSERT_TRUE(env_->CreateDirs(P("a/b")).ok());
  Write("a/z", "1");
  Write("a/b/y", "2");
  Write("a/a-file", "3");
  auto list = env_->ListDir(P("a"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<DirEntry>{{"a-file", FileType::kRegular},
                                          {"b", FileType::kDirectory},
                                          {"z", FileType::kRegular}}));
  EXPECT_EQ(env_->RemoveDir(P("a/b")).code(), Code::kNotEmpty);
  ASSERT_TRUE(env_->RemoveFile(P("a/b/y")).ok());
  ASSERT_TRUE(env_->RemoveDir(P("a/b/c")).ok());
  ASSERT_TRUE(env_->RemoveDir(P("a/b")).ok());
  EXPECT_EQ(Names("a"), (StrList{"a-file", "z"}));
  ASSERT_TRUE(env_->SyncDir(P("a")).ok());
}

TEST_P(EnvTest, CreateDirMakesOneLevelAndSaysWhatIsInTheWay) {
  ASSERT_TRUE(env_->CreateDir(P("d")).ok());
  EXPECT_EQ(env_->Stat(P("d"))->type, FileType::kDirectory);
  EXPECT_EQ(env_->CreateDir(P("d")).code(), Code::kAlreadyExists);  // unlike CreateDirs
  Write("f", "x");
  EXPECT_EQ(env_->CreateDir(P("f")).code(), Code::kAlreadyExists);
  EXPECT_EQ(env_->CreateDir(P("no/sub")).code(), Code::kNotFound);  // no parents made
  EXPECT_EQ(env_->Stat(P("no")).code(), Code::kNotFound);
  EXPECT_EQ(env_->CreateDir(P("f/sub")).code(), Code::kNotDir);
  EXPECT_EQ(Names(), (StrList{"d", "f"}));
}

TEST_P(EnvTest, SyncFileNeedsAnExistingFile) {
  Write("f", "data");
  ASSERT_TRUE(env_->CreateDirs(P("d")).ok());
  EXPECT_TRUE(env_->SyncFile(P("f")).ok());
  EXPECT_EQ(Read("f"), "data");
  EXPECT_EQ(env_->SyncFile(P("nope")).code(), Code::kNotFound);
  EXPECT_EQ(env_->SyncFile(P("d")).code(), Code::kIsDir);
  EXPECT_EQ(env_->SyncFile(P("f/below")).code(), Code::kNotDir);
  EXPECT_EQ(Names(), (StrList{"d", "f"}));  // nothing was created
}

// The streaming form: several pieces become one file; a failing fill leaves nothing; the
// caller may choose the temporary name.
TEST_P(EnvTest, AtomicWriteFromPiecesAndWithAChosenTemporaryName) {
  auto pieces = [](WritableFile& f) -> Status {
    RETURN_IF_ERROR(f.Append("block"));
    return f.Append("+trailer");
  };
  ASSERT_TRUE(env_->WriteFileAtomic(P("a"), pieces, {.sync = true}).ok());
  EXPECT_EQ(Read("a"), "block+trailer");
  Status s = env_->WriteFileAtomic(P("a"), [](WritableFile& f) -> Status {
    RETURN_IF_ERROR(f.Append("half"));
    return Status::InvalidArgument("the source went bad");
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(Read("a"), "block+trailer");
  EXPECT_EQ(Names(), (StrList{"a"}));
  AtomicWriteOptions named;
  named.temp_path = P("%tmp-mine");
  ASSERT_TRUE(env_->WriteFileAtomic(P("b"), "bee", named).ok());
  EXPECT_EQ(Read("b"), "bee");
  // The chosen name is used (it is taken, so the write refuses it) and is not removed.
  Write("%tmp-mine", "someone else's");
  EXPECT_EQ(env_->WriteFileAtomic(P("b"), "bee2", named).code(), Code::kAlreadyExists);
  EXPECT_EQ(Read("b"), "bee");
  EXPECT_EQ(Names(), (StrList{"%tmp-mine", "a", "b"}));
}

TEST_P(EnvTest, RenameReplacesAndNoReplaceRefuses) {
  Write("a", "A");
  Write("b", "B");
  Status s = env_->Rename(P("a"), P("b"), /*no_replace=*/true);
  EXPECT_EQ(s.code(), Code::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Read("a"), "A");
  EXPECT_EQ(Read("b"), "B");
  ASSERT_TRUE(env_->Rename(P("a"), P("b")).ok());
  EXPECT_EQ(Read("b"), "A");
  EXPECT_EQ(Names(), (StrList{"b"}));
  ASSERT_TRUE(env_->Rename(P("b"), P("c"), /*no_replace=*/true).ok());
  EXPECT_EQ(Names(), (StrList{"c"}));
}

TEST_P(EnvTest, RenameDirectoryMovesItsContents) {
  ASSERT_TRUE(env_->CreateDirs(P("d/sub")).ok());
  Write("d/sub/f", "deep");
  Write("d/g", "shallow");
  ASSERT_TRUE(env_->Rename(P("d"), P("e")).ok());
  EXPECT_EQ(Read("e/sub/f"), "deep");
  EXPECT_EQ(Read("e/g"), "shallow");
  EXPECT_EQ(env_->Stat(P("d")).code(), Code::kNotFound);
  EXPECT_EQ(env_->Rename(P("e"), P("e/sub/x")).code(), Code::kInvalidArgument);
  ASSERT_TRUE(env_->CreateDirs(P("full/x")).ok());
  EXPECT_EQ(env_->Rename(P("e"), P("full")).code(), Code::kNotEmpty);
  Write("file", "f");
  EXPECT_EQ(env_->Rename(P("e"), P("file")).code(), Code::kNotDir);
  EXPECT_EQ(env_->Rename(P("file"), P("e")).code(), Code::kIsDir);
}

TEST_P(EnvTest, ConcurrentAtomicWritesLeaveOneWholeVersion) {
  std::vector<std::string> versions;
  for (int i = 0; i < 4; i++) versions.push_back(std::string(100000, static_cast<char>('a' + i)));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; i++) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 10; k++) EXPECT_TRUE(env_->WriteFileAtomic(P("x"), versions[i]).ok());
    });
  }
  for (auto& t : threads) t.join();
  std::string got = Read("x");
  EXPECT_NE(std::find(versions.begin(), versions.end(), got), versions.end());
  EXPECT_EQ(Names(), (StrList{"x"}));
}

TEST_P(EnvTest, SpaceIsReported) {
  auto space = env_->GetSpace(root_);
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  EXPECT_GT(space->total_bytes, 0u);
  EXPECT_LE(space->free_bytes, space->total_bytes);
  EXPECT_GT(space->total_inodes, 0u);
}

TEST_P(EnvTest, ExclusiveLockExcludesOthers) {
  auto l1 = env_->LockFile(P("lock"), LockType::kExclusive, /*wait=*/false);
  ASSERT_TRUE(l1.ok()) << l1.status().ToString();
  EXPECT_EQ(env_->LockFile(P("lock"), LockType::kExclusive, false).code(), Code::kWouldBlock);
  EXPECT_EQ(env_->LockFile(P("lock"), LockType::kShared, false).code(), Code::kWouldBlock);
  l1->reset();
  auto l2 = env_->LockFile(P("lock"), LockType::kExclusive, false);
  EXPECT_TRUE(l2.ok()) << l2.status().ToString();
}

TEST_P(EnvTest, SharedLocksShareButExcludeWriters) {
  auto s1 = env_->LockFile(P("lock"), LockType::kShared, false);
  auto s2 = env_->LockFile(P("lock"), LockType::kShared, false);
  ASSERT_TRUE(s1.ok());
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(env_->LockFile(P("lock"), LockType::kExclusive, false).code(), Code::kWouldBlock);
  s1->reset();
  EXPECT_EQ(env_->LockFile(P("lock"), LockType::kExclusive, false).code(), Code::kWouldBlock);
  s2->reset();
  EXPECT_TRUE(env_->LockFile(P("lock"), LockType::kExclusive, false).ok());
}

TEST_P(EnvTest, WaitingLockIsGrantedOnRelease) {
  auto held = env_->LockFile(P("lock"), LockType::kExclusive, false);
  ASSERT_TRUE(held.ok());
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto l = env_->LockFile(P("lock"), LockType::kExclusive, /*wait=*/true);
    EXPECT_TRUE(l.ok());
    got = true;
  });
  held->reset();
  t.join();
  EXPECT_TRUE(got.load());
}

INSTANTIATE_TEST_SUITE_P(Envs, EnvTest, ::testing::Values(Kind::kPosix, Kind::kMem),
                         [](const auto& info) {
                           return info.param == Kind::kPosix ? "Posix" : "Mem";
                         });

TEST(PosixEnvTest, LockExcludesAnotherProcess) {
  char tmpl[] = "/tmp/strata_env_lock_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/lock";
  PosixEnv env;
  auto held = env.LockFile(path, LockType::kExclusive, false);
  ASSERT_TRUE(held.ok());
  auto child_try = [&]() -> int {
    pid_t pid = fork();
    if (pid == 0) {
      PosixEnv child_env;
      auto l = child_env.LockFile(path, LockType::kExclusive, false);
      _exit(l.ok() ? 0 : (l.code() == Code::kWouldBlock ? 1 : 2));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(child_try(), 1);  // held by this process
  held->reset();
  EXPECT_EQ(child_try(), 0);
  std::filesystem::remove_all(tmpl);
}

// On a file system that takes O_DIRECT (the test's temporary directory on ext4/xfs), an
// uncached read leaves none of the file in the page cache: a disk-cache hit is not held in
// memory a second time (cache/disk_tier.cc).
TEST(PosixEnvTest, UncachedReadLeavesNoPagesCached) {
  char tmpl[] = "/tmp/strata_env_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl, path = root + "/f";
  PosixEnv env;
  const std::string data(1 << 20, 'd');
  ASSERT_TRUE(env.WriteFileAtomic(path, data).ok());
  int probe = open(path.c_str(), O_RDONLY | O_DIRECT);
  if (probe < 0) {
    std::filesystem::remove_all(root);
    GTEST_SKIP() << "no O_DIRECT on " << root;
  }
  close(probe);
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fdatasync(fd), 0);  // written back, so that DONTNEED can drop every page
  ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  auto resident = [&] {
    void* m = mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_NE(m, MAP_FAILED);
    std::vector<unsigned char> vec(data.size() / 4096);
    EXPECT_EQ(mincore(m, data.size(), vec.data()), 0);
    munmap(m, data.size());
    size_t n = 0;
    for (unsigned char v : vec) n += v & 1;
    return n;
  };
  ASSERT_EQ(resident(), 0u);
  auto got = env.ReadFileUncached(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  EXPECT_EQ(resident(), 0u);  // read past the page cache
  ASSERT_TRUE(env.ReadFileToBuffer(path).ok());
  EXPECT_EQ(resident(), data.size() / 4096);  // the buffered read does fill it (the probe works)
  close(fd);
  std::filesystem::remove_all(root);
}

TEST(PosixEnvTest, ErrorsNameTheOperationAndPath) {
  PosixEnv env;
  auto r = env.ReadFile("/nonexistent-dir-for-strata/x");
  ASSERT_EQ(r.code(), Code::kNotFound);
  EXPECT_EQ(r.status().ToString(),
            "NotFound: open /nonexistent-dir-for-strata/x: No such file or directory");
}

TEST(MemEnvTest, PathsAreNormalisedAndMustBeAbsolute) {
  MemEnv env;
  ASSERT_TRUE(env.CreateDirs("/a//b/./c/../d/").ok());
  ASSERT_TRUE(env.WriteFileAtomic("/a/b/d/f", "x").ok());
  EXPECT_EQ(*env.ReadFile("//a/b/../b/d//f"), "x");
  EXPECT_EQ(env.ReadFile("a/b/d/f").code(), Code::kInvalidArgument);
}

TEST(MemEnvTest, MtimeComesFromTheClock) {
  FakeClock clock(/*wall_nanos=*/5000);
  MemEnv env(MemEnv::Options{.clock = &clock});
  ASSERT_TRUE(env.WriteFileAtomic("/f", "x").ok());
  EXPECT_EQ(env.Stat("/f")->mtime_nanos, 5000);
  clock.Advance(std::chrono::nanoseconds(10));
  auto w = env.NewWritableFile("/f", OpenMode::kAppend);
  ASSERT_TRUE((*w)->Append("y").ok());
  EXPECT_EQ(env.Stat("/f")->mtime_nanos, 5010);
}

TEST(MemEnvTest, CapacityGivesNoSpaceAndRemovalFreesIt) {
  MemEnv env(MemEnv::Options{.capacity_bytes = 1000});
  ASSERT_TRUE(env.WriteFileAtomic("/a", std::string(600, 'a')).ok());
  EXPECT_EQ(env.GetSpace("/")->free_bytes, 400u);
  Status s = env.WriteFileAtomic("/b", std::string(600, 'b'));
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_EQ(env.ListDir("/")->size(), 1u);  // the temporary file was removed
  {
    auto open = env.NewRandomAccessFile("/a");
    ASSERT_TRUE(env.RemoveFile("/a").ok());
    EXPECT_EQ(env.GetSpace("/")->free_bytes, 400u);  // still held open
  }
  EXPECT_EQ(env.GetSpace("/")->free_bytes, 1000u);
  EXPECT_TRUE(env.WriteFileAtomic("/b", std::string(600, 'b')).ok());
}

TEST(DirnameTest, Cases) {
  EXPECT_EQ(Dirname("a/b/c"), "a/b");
  EXPECT_EQ(Dirname("/c"), "/");
  EXPECT_EQ(Dirname("c"), ".");
  EXPECT_EQ(Dirname("/a/b/"), "/a");
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
}

}  // namespace
}  // namespace strata
