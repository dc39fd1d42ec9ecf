#include "csi/mount_table.h"

#include <gtest/gtest.h>

namespace strata::csi {
namespace {

const char* kInfo =
    "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
    "90 22 0:52 / /var/lib/strata/csi/mounts/ab12 rw,nosuid,nodev,relatime shared:50 - "
    "fuse.strata strata:vol rw,user_id=0,group_id=0,allow_other\n"
    "91 22 0:52 /pvc-1 /var/lib/kubelet/pods/p\\0401/mount rw,relatime shared:50 - fuse.strata "
    "strata:vol rw\n"
    "92 22 0:52 /pvc-1 /t/ro ro,relatime - fuse.strata strata:vol rw\n";

TEST(MountTable, ParsesFieldsAndEscapes) {
  auto t = ParseMountInfo(kInfo);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 4u);
  const MountEntry& bind = (*t)[2];
  EXPECT_EQ(bind.id, 91);
  EXPECT_EQ(bind.dev, "0:52");
  EXPECT_EQ(bind.root, "/pvc-1");
  EXPECT_EQ(bind.mount_point, "/var/lib/kubelet/pods/p 1/mount");  // \040 is a space
  EXPECT_EQ(bind.fstype, "fuse.strata");
  EXPECT_EQ(bind.source, "strata:vol");
  EXPECT_FALSE(bind.read_only());
  EXPECT_TRUE((*t)[3].read_only());  // per-mount "ro", not the super options
  EXPECT_EQ(FindMount(*t, "/t/ro"), &(*t)[3]);
  EXPECT_EQ(FindMount(*t, "/t"), nullptr);
}

TEST(MountTable, RefusesGarbage) {
  auto t = ParseMountInfo("22 1 259:2 / / rw\n");
  EXPECT_TRUE(t.status().Is(Code::kCorruption));
}

TEST(MountTable, ReadsThisProcess) {
  auto t = ReadMountTable();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_NE(FindMount(*t, "/"), nullptr);
}

}  // namespace
}  // namespace strata::csi
