// strata sync on real endpoints: local directories (temporary), mem:// stores, and volumes on
// memkv:// + mem:// opened directly (strata://). Checks the copy rules, attributes, hard
// links, filters, --delete-dst, --dry-run and that a second run copies nothing.
#include "sync/sync.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "client/builtins.h"
#include "meta/meta.h"
#include "sync/object_endpoint.h"
#include "sync/open.h"
#include "sync/path_endpoint.h"
#include "sync/volume_endpoint.h"

namespace strata::sync {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}
std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("sync-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "src");
    client::RegisterBuiltins(reg_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Tree() {
    Write(root_ / "src/a.txt", "hello");
    Write(root_ / "src/dir/b.bin", std::string(5 << 20, 'x'));  // more than one piece
    Write(root_ / "src/dir/sub/c", "c");
    Write(root_ / "src/skip.tmp", "t");
    fs::create_symlink("dir/b.bin", root_ / "src/ln");
    fs::create_hard_link(root_ / "src/a.txt", root_ / "src/dir/a-link");
    ASSERT_EQ(::setxattr((root_ / "src/a.txt").c_str(), "user.k", "v", 1, 0), 0);
    ::chmod((root_ / "src/dir/sub/c").c_str(), 0604);
    struct timespec ts[2] = {{1600000000, 123}, {1600000001, 456789}};
    ::utimensat(AT_FDCWD, (root_ / "src/dir/sub").c_str(), ts, 0);
  }

  struct Tally {
    uint64_t copied, linked, attrs, deleted, failed;
  };
  Tally RunSync(Endpoint& s, Endpoint& d, const SyncOptions& o = {}) {
    SyncStats st;
    Status r = sync::Run(s, d, o, &st);
    EXPECT_TRUE(r.ok()) << r.ToString();
    return Tally{st.copied, st.linked, st.attrs, st.deleted, st.failed};
  }

  fs::path root_;
  client::Registries reg_;
};

TEST_F(SyncTest, PathToPathKeepsEverythingAndSecondRunCopiesNothing) {
  Tree();
  PathEndpoint src((root_ / "src").string(), true), dst((root_ / "dst").string(), false);
  SyncOptions o;
  o.exclude = {"*.tmp"};
  auto st = RunSync(src, dst, o);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.linked, 1u);
  EXPECT_EQ(ReadAll(root_ / "dst/dir/b.bin"), std::string(5 << 20, 'x'));
  EXPECT_FALSE(fs::exists(root_ / "dst/skip.tmp"));
  EXPECT_EQ(fs::read_symlink(root_ / "dst/ln"), "dir/b.bin");
  struct stat a, b, c, sub;
  ASSERT_EQ(::stat((root_ / "dst/a.txt").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_ / "dst/dir/a-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  ASSERT_EQ(::stat((root_ / "dst/dir/sub/c").c_str(), &c), 0);
  EXPECT_EQ(c.st_mode & 07777, 0604u);
  ASSERT_EQ(::stat((root_ / "dst/dir/sub").c_str(), &sub), 0);
  EXPECT_EQ(sub.st_mtim.tv_sec, 1600000001);
  EXPECT_EQ(sub.st_mtim.tv_nsec, 456789);
  char v[8];
  EXPECT_EQ(::getxattr((root_ / "dst/a.txt").c_str(), "user.k", v, sizeof v), 1);

  auto again = RunSync(src, dst, o);
  EXPECT_EQ(again.copied, 0u);
  EXPECT_EQ(again.linked, 0u);
  EXPECT_EQ(again.failed, 0u);

  // A change and a deletion: only the changed file is copied; --delete-dst removes the rest.
  Write(root_ / "src/dir/sub/c", "changed");
  fs::remove(root_ / "src/ln");
  SyncOptions del = o;
  del.delete_dst = true;
  auto third = RunSync(src, dst, del);
  EXPECT_EQ(third.copied, 1u);
  EXPECT_EQ(third.deleted, 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "dst/ln")));
  EXPECT_EQ(ReadAll(root_ / "dst/dir/sub/c"), "changed");
}

TEST_F(SyncTest, DryRunChangesNothing) {
  Tree();
  PathEndpoint src((root_ / "src").string(), true), dst((root_ / "dst").string(), false);
  SyncOptions o;
  o.dry_run = true;
  auto st = RunSync(src, dst, o);
  EXPECT_GT(st.copied, 0u);
  EXPECT_FALSE(fs::exists(root_ / "dst"));
}

TEST_F(SyncTest, ObjectStoresBothWaysAndCheckAll) {
  Tree();
  auto store = reg_.stores.Open("mem://sync-test-objects");
  ASSERT_TRUE(store.ok());
  ObjectEndpoint obj(*store);
  PathEndpoint src((root_ / "src").string(), true), back((root_ / "back").string(), false);
  auto up = RunSync(src, obj);
  EXPECT_EQ(up.failed, 0u);
  auto info = (*store)->Head("dir/sub/c");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 1u);
  EXPECT_FALSE((*store)->Head("ln").ok());  // a store keeps no symlinks
  SyncOptions del;
  del.delete_dst = true;
  auto down = RunSync(obj, back, del);
  EXPECT_EQ(down.failed, 0u);
  EXPECT_EQ(RunSync(obj, back, del).failed, 0u);  // directories implied by keys stay
  EXPECT_EQ(ReadAll(root_ / "back/dir/b.bin"), std::string(5 << 20, 'x'));
  // Same size, other bytes: only --check-all sees it.
  ASSERT_TRUE((*store)->Put("a.txt", "HELLO").ok());
  EXPECT_EQ(RunSync(src, obj).copied, 0u);
  SyncOptions all;
  all.check_all = true;
  EXPECT_EQ(RunSync(src, obj, all).copied, 1u);
  EXPECT_EQ(*(*store)->Get("a.txt"), "hello");
}

TEST_F(SyncTest, Filters) {
  SyncOptions o;
  o.exclude = {"*.log", "cache", "a/b"};
  o.include = {"keep.log"};
  EXPECT_FALSE(Selected(o, "x/y.log"));
  EXPECT_TRUE(Selected(o, "x/keep.log"));
  EXPECT_FALSE(Selected(o, "cache/"));
  EXPECT_FALSE(Selected(o, "z/cache/f"));
  EXPECT_FALSE(Selected(o, "a/b/c"));
  EXPECT_TRUE(Selected(o, "a/bc"));
  EXPECT_TRUE(Selected(o, "f"));
}

TEST_F(SyncTest, VolumeToVolumeWithoutFuse) {
  Tree();
  for (const char* name : {"sync-a", "sync-b"}) {
    auto eng = reg_.engines.Open(std::string("memkv://") + name);
    ASSERT_TRUE(eng.ok());
    meta::VolumeFormat f;
    f.name = name;
    f.uuid = name;
    f.storage_url = std::string("mem://") + name;
    f.trash_days = 0;
    ASSERT_TRUE(meta::Meta::Format(**eng, f, false).ok());
  }
  PathEndpoint src((root_ / "src").string(), true);
  {
    auto a = VolumeEndpoint::Open(reg_, "memkv://sync-a", "/tenant", true);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(RunSync(src, **a).failed, 0u);
  }
  auto a = VolumeEndpoint::Open(reg_, "memkv://sync-a", "tenant", false);
  auto b = VolumeEndpoint::Open(reg_, "memkv://sync-b", "moved/t", true);
  ASSERT_TRUE(a.ok() && b.ok());
  auto st = RunSync(**a, **b);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.linked, 1u);
  auto again = RunSync(**a, **b);
  EXPECT_EQ(again.copied, 0u);
  EXPECT_EQ(again.attrs, 0u);
  // Back out to a directory: the same bytes, link, symlink and mode.
  PathEndpoint out((root_ / "out").string(), false);
  EXPECT_EQ(RunSync(**b, out).failed, 0u);
  EXPECT_EQ(ReadAll(root_ / "out/dir/b.bin"), std::string(5 << 20, 'x'));
  EXPECT_EQ(fs::read_symlink(root_ / "out/ln"), "dir/b.bin");
  EXPECT_EQ(fs::status(root_ / "out/dir/sub/c").permissions(), fs::perms(0604));
  char v[8];
  EXPECT_EQ(::getxattr((root_ / "out/a.txt").c_str(), "user.k", v, sizeof v), 1);
  struct stat x, y;
  ASSERT_EQ(::stat((root_ / "out/a.txt").c_str(), &x), 0);
  ASSERT_EQ(::stat((root_ / "out/dir/a-link").c_str(), &y), 0);
  EXPECT_EQ(x.st_ino, y.st_ino);
}

TEST_F(SyncTest, UnreachableStoreIsOneError) {
  EndpointOptions o;
  o.store.access_key = "k";
  o.store.secret_key = "s";
  o.store.connect_timeout_ms = 500;
  auto e = OpenEndpoint(reg_, "http://127.0.0.1:1/bucket/", o, false);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().ToString().find("reaching"), std::string::npos) << e.status().ToString();
  EXPECT_FALSE(OpenEndpoint(reg_, "strata:///x", {}, false).ok());  // no --src-meta
}

}  // namespace
}  // namespace strata::sync
