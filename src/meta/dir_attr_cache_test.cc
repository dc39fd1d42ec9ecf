// DirAttrCache through Meta (dir_attr_cache.h): the attrs of a directory this client's own
// commits wrote answer CachedDirAttr, always equal to what the engine holds while no commit is
// in flight, whatever operation changed the directory; another client's change is seen once
// the ttl passed; files are never answered from it.
#include "meta/dir_attr_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "meta/kv/kv_wrapper.h"
#include "meta/kv/mem_kv.h"
#include "meta/kv/testing/late_reply_kv.h"
#include "meta/meta.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class DirAttrCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open()));
    VolumeFormat f;
    f.name = "vol";
    f.uuid = "dac-uuid";
    f.storage_url = "mem://dir-attr-cache-test";
    ASSERT_TRUE(Meta::Format(*mem_, f, false).ok());
    a_ = OpenOn(mem_);
  }
  std::unique_ptr<Meta> OpenOn(std::shared_ptr<kv::KvEngine> engine, int ttl_ms = 1000) {
    MetaOptions o;
    o.clock = &clock_;
    o.background_jobs = false;
    o.dir_attr_cache_ms = ttl_ms;
    auto m = Meta::Open(std::move(engine), o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }
  // The cached attr of `dir`, when held, equals the engine's.
  void ExpectExact(Meta& m, Ino dir, const std::string& after) {
    auto fresh = m.GetAttr(dir);
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    if (auto hit = m.CachedDirAttr(dir, seconds(1))) {
      EXPECT_EQ(schema::EncodeAttr(hit->attr), schema::EncodeAttr(*fresh))
          << "stale cached attr after " << after;
    }
  }

  FakeClock clock_;
  std::shared_ptr<kv::KvEngine> mem_;
  std::unique_ptr<Meta> a_;
  const Context root_;
};

TEST_F(DirAttrCacheTest, EveryOwnChangeKeepsItExact) {
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  const Ino dir = d->ino;
  auto f = a_->Mknod(root_, dir, "f", FileType::kRegular, 0644, 0);
  ASSERT_TRUE(f.ok());
  // The create wrote the directory's attr: it is answered, as the engine holds it.
  auto hit = a_->CachedDirAttr(dir, seconds(1));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->age.count(), 0);
  ExpectExact(*a_, dir, "mknod");
  // A file's attrs are never answered from the cache (close-to-open needs them fresh).
  EXPECT_FALSE(a_->CachedDirAttr(f->ino, seconds(1)).has_value());

  auto step = [&](const char* what, const Status& s) {
    ASSERT_TRUE(s.ok()) << what << ": " << s.ToString();
    ExpectExact(*a_, dir, what);
    ExpectExact(*a_, kRootIno, what);
  };
  step("mkdir", a_->Mkdir(root_, dir, "sub", 0755).status());
  SetAttrRequest chmod;
  chmod.mask = kSetMode;
  chmod.mode = 0711;
  step("chmod", a_->SetAttr(root_, dir, chmod).status());
  SetAttrRequest times;
  times.mask = kSetMtime;
  times.mtime = {12345, 6};
  step("utimes", a_->SetAttr(root_, dir, times).status());
  step("rename", a_->Rename(root_, dir, "f", dir, "g", 0));
  step("rename out", a_->Rename(root_, dir, "g", kRootIno, "g", 0));
  step("rename in", a_->Rename(root_, kRootIno, "g", dir, "g", 0));
  step("link", a_->Link(root_, f->ino, dir, "h").status());
  step("unlink", a_->Unlink(root_, dir, "h"));
  step("setxattr", a_->SetXattr(root_, dir, "user.k", "v", 0));
  step("removexattr", a_->RemoveXattr(root_, dir, "user.k"));
  step("symlink", a_->Symlink(root_, dir, "s", "g").status());
  step("rmdir", a_->Rmdir(root_, dir, "sub"));
  step("rename dir", a_->Rename(root_, kRootIno, "d", kRootIno, "d2", 0));
  EXPECT_TRUE(a_->CachedDirAttr(kRootIno, seconds(1)).has_value());
}

TEST_F(DirAttrCacheTest, AnotherClientsChangeIsSeenOnceTheTtlPassed) {
  // Client B on its own engine object over the same store: its commits are not A's.
  auto b = OpenOn(std::make_shared<kv::KvEngineWrapper>(mem_));
  ASSERT_NE(b, nullptr);
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(a_->Mknod(root_, d->ino, "mine", FileType::kRegular, 0644, 0).ok());
  auto before = a_->CachedDirAttr(d->ino, seconds(1));
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(b->Mkdir(root_, d->ino, "theirs", 0755).ok());  // nlink 2 -> 3
  // B's own commit is in B's cache.
  auto theirs = b->CachedDirAttr(d->ino, seconds(1));
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(theirs->attr.nlink, 3u);
  clock_.Advance(milliseconds(400));
  // Within the ttl A answers what its own commit wrote, and says how old that is.
  auto stale = a_->CachedDirAttr(d->ino, seconds(1));
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->attr.nlink, 2u);
  EXPECT_EQ(stale->age, milliseconds(400));
  // A caller that accepts less age (what is left of the kernel's timeout) is not answered.
  EXPECT_FALSE(a_->CachedDirAttr(d->ino, milliseconds(300)).has_value());
  clock_.Advance(milliseconds(600));
  EXPECT_FALSE(a_->CachedDirAttr(d->ino, seconds(10)).has_value());
  auto fresh = a_->GetAttr(d->ino);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->nlink, 3u);
}

TEST_F(DirAttrCacheTest, ZeroTtlKeepsNothing) {
  a_.reset();
  a_ = OpenOn(mem_, 0);
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(a_->Mknod(root_, d->ino, "f", FileType::kRegular, 0644, 0).ok());
  EXPECT_FALSE(a_->CachedDirAttr(d->ino, seconds(1)).has_value());
}

TEST(DirAttrCacheConcurrencyTest, ConcurrentCommitsLeaveTheNewestOrNothing) {
  // Commits of one directory from many threads overlap, fail (injected conflicts) and retry,
  // and report back out of order; once all answered the cache holds the engine's value.
  kv::MemKvOptions mo;
  mo.conflict_rate = 0.2;
  mo.seed = 7;
  auto mem =
      std::make_shared<kv::testing::LateReplyKv>(
      std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open(mo))), 11);
  VolumeFormat f;
  f.name = "vol";
  f.uuid = "dac-uuid";
  f.storage_url = "mem://dir-attr-cache-test";
  ASSERT_TRUE(Meta::Format(*mem, f, false).ok());
  MetaOptions o;
  o.background_jobs = false;
  auto m = Meta::Open(mem, o);
  ASSERT_TRUE(m.ok());
  const Context root;
  auto d = (*m)->Mkdir(root, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  int held = 0;
  for (int round = 0; round < 10; round++) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5; i++) {
          const std::string name =
              "r" + std::to_string(round) + "t" + std::to_string(t) + "i" + std::to_string(i);
          EXPECT_TRUE((*m)->Mkdir(root, d->ino, name, 0755).ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    auto fresh = (*m)->GetAttr(d->ino);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ(fresh->nlink, 2u + 40u * (round + 1));
    if (auto hit = (*m)->CachedDirAttr(d->ino, seconds(60))) {
      held++;
      EXPECT_EQ(schema::EncodeAttr(hit->attr), schema::EncodeAttr(*fresh)) << "round " << round;
    }
  }
  std::printf("rounds ending with the directory's attr cached: %d of 10\n", held);
}

}  // namespace
}  // namespace strata::meta
