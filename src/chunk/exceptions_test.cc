// An exception inside the data path (bad_alloc in a codec, a bug) must become an error for the
// file that waits, never a close() that waits for ever (issue: ThreadPool swallowed it and the
// upload's bookkeeping never ran).
#include <gtest/gtest.h>

#include <atomic>
#include <new>

#include "chunk/test_volume.h"

namespace strata::chunk {
namespace {

using testing::HookStore;
using testing::TestVolume;

TEST(DataPathExceptions, AThrowingUploadFailsThatFilesFlushWithEIO) {
  TestVolume vol;
  auto hook = std::make_shared<HookStore>(vol.mem_shared());
  std::atomic<int> throws{1};
  hook->SetPutHook([&](const std::string& key, const object::PutOptions&) {
    if (key.find("/chunks/") != std::string::npos && throws.fetch_sub(1) > 0) {
      throw std::bad_alloc();
    }
  });
  auto cs = vol.OpenOn(hook, vol.Options());
  ASSERT_NE(cs, nullptr);
  meta::Ino bad = vol.NewFile("bad");
  ASSERT_TRUE(cs->Write(bad, 0, std::string(3000, 'x')).ok());
  Status st = cs->Flush(bad);
  EXPECT_EQ(ToErrno(st), EIO) << st.ToString();
  EXPECT_NE(st.ToString().find("out of memory"), std::string::npos) << st.ToString();
  EXPECT_EQ(vol.Length(bad), 0u);  // nothing half-committed

  // The writer goes on: the next file lands.
  meta::Ino good = vol.NewFile("good");
  ASSERT_TRUE(cs->Write(good, 0, "fine").ok());
  EXPECT_TRUE(cs->Flush(good).ok());
  EXPECT_EQ(vol.Length(good), 4u);
}

}  // namespace
}  // namespace strata::chunk
