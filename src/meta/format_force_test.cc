// `format --force` may change the layout of an empty volume, never of one that holds data.
#include <gtest/gtest.h>

#include "meta/kv/mem_kv.h"
#include "meta/meta.h"

namespace strata::meta {
namespace {

VolumeFormat Base() {
  VolumeFormat f;
  f.name = "vol";
  f.storage_url = "mem://force-test";
  return f;
}

TEST(FormatForceTest, ChangesTheLayoutOfAnEmptyVolumeOnly) {
  std::shared_ptr<kv::KvEngine> kv(std::move(*kv::MemKv::Open()));
  ASSERT_TRUE(Meta::Format(*kv, Base(), false).ok());
  VolumeFormat bigger = Base();
  bigger.block_size = 1 << 20;
  EXPECT_TRUE(Meta::Format(*kv, bigger, false).Is(Code::kAlreadyExists));  // needs --force
  ASSERT_TRUE(Meta::Format(*kv, bigger, true).ok());                       // empty: allowed
  EXPECT_EQ(Meta::LoadFormat(*kv)->block_size, 1u << 20);

  {  // A client writes data: slice ids get allocated.
    MetaOptions mo;
    mo.background_jobs = false;
    auto m = Meta::Open(kv, mo);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->NewSliceId().ok());
  }
  for (auto change : {0, 1, 2}) {
    VolumeFormat f = bigger;
    if (change == 0) f.block_size = 4 << 20;
    if (change == 1) f.compression = "zstd";
    if (change == 2) f.name = "renamed";
    Status s = Meta::Format(*kv, f, true);
    EXPECT_TRUE(s.Is(Code::kAlreadyExists)) << s.ToString();
    EXPECT_NE(s.ToString().find("holds data"), std::string::npos) << s.ToString();
  }
  VolumeFormat f = *Meta::LoadFormat(*kv);
  EXPECT_EQ(f.block_size, 1u << 20);
  EXPECT_EQ(f.compression, "none");
  EXPECT_EQ(f.name, "vol");
  f.trash_days = 3;  // settings that do not change the layout still can
  EXPECT_TRUE(Meta::Format(*kv, f, true).ok());
}

}  // namespace
}  // namespace strata::meta
