// The data path over a file:// store on a failing disk: the volume's blocks go to a
// FileStore whose Env is a FaultyEnv over the real PosixEnv, so the default store's own
// error handling runs (no FaultyStore in between). What a user notices: the close() of a
// file whose block could not be written fails with ENOSPC, and once space is back other
// files are written normally.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "chunk/chunk_store.h"
#include "chunk/test_volume.h"
#include "common/faulty_env.h"
#include "common/posix_env.h"
#include "object/file_store.h"

namespace strata::chunk {
namespace {

using testing::RandomBytes;
using testing::TestVolume;

constexpr uint32_t kBlock = 64 << 10;

class FileStoreFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-store-faults-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto file = object::FileStore::Open(dir_, &faulty_);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    store_ = std::shared_ptr<object::ObjectStore>(std::move(*file));
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Options as FromFormat sets them for file:// (puts need a sync for fsync).
  ChunkOptions Options(TestVolume& vol) {
    ChunkOptions o = vol.Options();
    o.blocks.puts_need_sync = true;
    return o;
  }

  std::string dir_;
  PosixEnv posix_;
  FaultyEnv faulty_{&posix_};
  std::shared_ptr<object::ObjectStore> store_;
};

TEST_F(FileStoreFaults, NoSpaceOnABlockWriteFailsThatFilesFlushOnly) {
  TestVolume vol({.block_size = kBlock});
  auto cs = vol.OpenOn(store_, Options(vol));
  ASSERT_TRUE(cs);
  meta::Ino full = vol.NewFile("full");
  faulty_.AddRule({.op = FaultOp::kWrite, .path_prefix = dir_ + "/vol/", .error = ENOSPC});
  const std::string lost = RandomBytes(2 * kBlock + 100, 1);
  // The write itself is buffered; the error comes at close (Flush), as ENOSPC.
  Status w = cs->Write(full, 0, lost);
  Status flushed = w.ok() ? cs->Flush(full) : w;
  EXPECT_EQ(flushed.code(), Code::kNoSpace) << flushed.ToString();
  EXPECT_GT(faulty_.faults_injected(), 0u);
  EXPECT_EQ(vol.Length(full), 0u) << "a file whose blocks were not stored must not grow";

  faulty_.ClearRules();  // space freed
  meta::Ino fine = vol.NewFile("fine");
  const std::string data = RandomBytes(3 * kBlock + 7, 2);
  ASSERT_TRUE(cs->Write(fine, 0, data).ok());
  Status ok = cs->Flush(fine);
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(vol.Length(fine), data.size());
  // Read back by a fresh client (cold cache), so the bytes come from the files on disk.
  auto reader = vol.OpenOn(store_, Options(vol));
  EXPECT_TRUE(vol.ReadAll(*reader, fine) == data);
}

// fsync(): a disk that fails to flush makes fsync fail with EIO (the data may not survive a
// power cut); close() had succeeded (the blocks were stored), and a later fsync succeeds once
// the disk works again.
TEST_F(FileStoreFaults, EioOnFsyncFailsFsync) {
  TestVolume vol({.block_size = kBlock});
  auto cs = vol.OpenOn(store_, Options(vol));
  ASSERT_TRUE(cs);
  meta::Ino ino = vol.NewFile("synced");
  const std::string data = RandomBytes(2 * kBlock + 5, 3);
  ASSERT_TRUE(cs->Write(ino, 0, data).ok());
  ASSERT_TRUE(cs->Flush(ino).ok());  // close(): stored, not yet flushed to the platter
  faulty_.AddRule({.op = FaultOp::kSync, .path_prefix = dir_ + "/vol/", .error = EIO});
  Status st = cs->Fsync(ino);
  EXPECT_EQ(ToErrno(st), EIO) << st.ToString();
  EXPECT_GT(faulty_.faults_injected(), 0u);
  faulty_.ClearRules();
  Status again = cs->Fsync(ino);
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(vol.Length(ino), data.size());
}

}  // namespace
}  // namespace strata::chunk
