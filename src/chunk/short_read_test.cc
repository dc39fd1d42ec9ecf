// A transfer cut short (a proxy, a flaky link) is fetched again, not reported as a corrupt
// block; a block that stays bad is still never returned.
#include <gtest/gtest.h>

#include <atomic>

#include "chunk/test_volume.h"

namespace strata::chunk {
namespace {

using testing::TestVolume;

// Cuts the body of the next `cut` whole-object Gets of block keys in half.
class CuttingStore : public object::ObjectStoreWrapper {
 public:
  using ObjectStoreWrapper::ObjectStoreWrapper;
  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override {
    auto r = ObjectStoreWrapper::Get(key, off, len);
    if (r.ok() && key.find("/chunks/") != std::string::npos && cut.fetch_sub(1) > 0) {
      r->resize(r->size() / 2);
    }
    return r;
  }
  std::atomic<int> cut{0};
};

TEST(ShortReads, ACutTransferIsFetchedAgainAndAPersistentOneIsNeverReturned) {
  TestVolume vol;
  auto cutting = std::make_shared<CuttingStore>(vol.mem_shared());
  ChunkOptions o = vol.Options();
  o.cache.memory_size = 0;  // every read goes to the store
  auto writer = vol.OpenOn(vol.mem_shared(), o);
  meta::Ino ino = vol.NewFile("f");
  const std::string data = testing::RandomBytes(300000, 9);
  ASSERT_TRUE(writer->Write(ino, 0, data).ok());
  ASSERT_TRUE(writer->Flush(ino).ok());

  auto reader = vol.OpenOn(cutting, o);
  cutting->cut = 2;  // two cut transfers, then a good one
  auto got = reader->Read(ino, 0, data.size(), data.size(), nullptr);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);

  auto again = vol.OpenOn(cutting, o);
  cutting->cut = 100;  // every transfer cut: corrupt, and no bytes handed out
  auto bad = again->Read(ino, 0, data.size(), data.size(), nullptr);
  EXPECT_EQ(bad.code(), Code::kCorruption) << bad.status().ToString();
}

}  // namespace
}  // namespace strata::chunk
