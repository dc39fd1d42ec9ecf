#include "csi/volume_dirs.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

namespace strata::csi {
namespace {

class VolumeDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client::RegisterBuiltins(registries_);
    char tmpl[] = "/tmp/csi-dirs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    secrets_.meta_url = secrets_.masked_url = "sqlite3://" + dir_ + "/meta.db";
    auto engine = registries_.engines.Open(secrets_.meta_url);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "0f2c0000-0000-4000-8000-000000000002";
    f.storage_url = "file://" + dir_ + "/data";
    f.trash_days = 1;
    ASSERT_TRUE(meta::Meta::Format(**engine, f, false).ok());
    engine_ = *engine;  // a second connection below sees what this one wrote
  }
  void TearDown() override {
    engine_.reset();
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }

  client::Registries registries_;
  std::string dir_;
  VolumeSecrets secrets_;
  std::shared_ptr<kv::KvEngine> engine_;
};

TEST_F(VolumeDirsTest, CreateIsIdempotentAndRecordsCapacity) {
  auto d = VolumeDirs::Open(registries_, secrets_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_TRUE((*d)->Create("k8s/pvc-1", 5 << 20).ok());
  EXPECT_EQ(*(*d)->Capacity("k8s/pvc-1"), 5u << 20);
  EXPECT_TRUE((*d)->Create("/k8s//pvc-1", 5 << 20).ok()) << "the same request again";
  EXPECT_TRUE((*d)->Create("k8s/pvc-1", 6 << 20).Is(Code::kAlreadyExists));
  ASSERT_TRUE((*d)->SetCapacity("k8s/pvc-1", 7 << 20).ok());
  EXPECT_EQ(*(*d)->Capacity("k8s/pvc-1"), 7u << 20);
  EXPECT_TRUE((*d)->Capacity("k8s/none").status().Is(Code::kNotFound));
  EXPECT_TRUE((*d)->Create("", 0).Is(Code::kInvalidArgument));
  ASSERT_TRUE((*d)->Create("k8s/pvc-2", 0).ok());
  EXPECT_EQ(*(*d)->Capacity("k8s/pvc-2"), 0u);
}

TEST_F(VolumeDirsTest, RemoveTakesTheTreeAndIsIdempotent) {
  auto d = VolumeDirs::Open(registries_, secrets_);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE((*d)->Create("pvc-9", 0).ok());
  auto m = meta::Meta::Open(engine_, meta::MetaOptions{.background_jobs = false});
  ASSERT_TRUE(m.ok());
  auto pvc = (*m)->ResolveDir("pvc-9");
  ASSERT_TRUE(pvc.ok());
  meta::Context root;
  auto sub = (*m)->Mkdir(root, *pvc, "agent", 0755);
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(
        (*m)->Mknod(root, sub->ino, "f" + std::to_string(i), meta::FileType::kRegular, 0644, 0)
            .ok());
  }
  ASSERT_TRUE((*d)->Remove("pvc-9").ok());
  EXPECT_TRUE((*m)->ResolveDir("pvc-9").status().Is(Code::kNotFound));
  auto trash = (*m)->ListTrash();
  ASSERT_TRUE(trash.ok());
  EXPECT_EQ(trash->size(), 3u) << "the files went to the trash";
  EXPECT_TRUE((*d)->Remove("pvc-9").ok()) << "removing what is gone succeeds";
  EXPECT_TRUE((*d)->Remove("/").Is(Code::kInvalidArgument));
}

TEST_F(VolumeDirsTest, MissingDatabaseIsNotCreated) {
  VolumeSecrets s;
  s.meta_url = s.masked_url = "sqlite3://" + dir_ + "/absent.db";
  auto d = VolumeDirs::Open(registries_, s);
  EXPECT_TRUE(d.status().Is(Code::kNotFound));
  EXPECT_NE(access((dir_ + "/absent.db").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace strata::csi
