// DirNamesCache through Meta (dir_names_cache.h): in a directory this client created and keeps
// changing, a lookup of an absent name costs no engine round trip and every answer (absent or
// found) is what the engine holds, whatever operation changed the directory; another client's
// change is reported at most the ttl late, and at once after this client's next commit there;
// directories this client did not create are always asked; permissions are still checked.
#include "meta/dir_names_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "meta/kv/counting_kv.h"
#include "meta/kv/kv_wrapper.h"
#include "meta/kv/mem_kv.h"
#include "meta/kv/testing/late_reply_kv.h"
#include "meta/meta.h"

namespace strata::meta {
namespace {

using std::chrono::milliseconds;

class DirNamesCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open()));
    VolumeFormat f;
    f.name = "vol";
    f.uuid = "dnc-uuid";
    f.storage_url = "mem://dir-names-cache-test";
    ASSERT_TRUE(Meta::Format(*mem_, f, false).ok());
    counting_ = std::make_shared<kv::CountingKv>(mem_);
    a_ = OpenOn(counting_);
  }
  std::unique_ptr<Meta> OpenOn(std::shared_ptr<kv::KvEngine> engine, int ttl_ms = 1000) {
    MetaOptions o;
    o.clock = &clock_;
    o.background_jobs = false;
    o.dir_names_cache_ms = ttl_ms;
    auto m = Meta::Open(std::move(engine), o);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }
  // What the engine says of `name` in `dir`, read by a client with no cache.
  bool Exists(Ino dir, const std::string& name) {
    if (!truth_) truth_ = OpenOn(std::make_shared<kv::KvEngineWrapper>(mem_), 0);
    auto e = truth_->Lookup(root_, dir, name);
    EXPECT_TRUE(e.ok() || e.status().Is(Code::kNotFound)) << e.status().ToString();
    return e.ok();
  }
  // A's answer for `name` agrees with the engine; returns the engine reads it took.
  uint64_t ExpectAgrees(Ino dir, const std::string& name, const std::string& after) {
    const bool exists = Exists(dir, name);
    counting_->Reset();
    auto e = a_->Lookup(root_, dir, name);
    const uint64_t reads = counting_->counts().reads;
    EXPECT_EQ(e.ok(), exists) << name << " after " << after << ": " << e.status().ToString();
    return reads;
  }

  FakeClock clock_;
  std::shared_ptr<kv::KvEngine> mem_;
  std::shared_ptr<kv::CountingKv> counting_;
  std::unique_ptr<Meta> a_;
  std::unique_ptr<Meta> truth_;
  const Context root_;
};

TEST_F(DirNamesCacheTest, OwnChangesKeepTheNamesExactAndAbsentNamesCostNothing) {
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  const Ino dir = d->ino;
  EXPECT_EQ(ExpectAgrees(dir, "nothing", "mkdir"), 0u);
  auto f = a_->Mknod(root_, dir, "f", FileType::kRegular, 0644, 0);
  ASSERT_TRUE(f.ok());
  const std::vector<std::string> names = {"f", "g", "h", "s", "sub", "x"};
  auto step = [&](const char* what, const Status& s) {
    ASSERT_TRUE(s.ok()) << what << ": " << s.ToString();
    for (const auto& n : names) {
      const uint64_t reads = ExpectAgrees(dir, n, what);
      if (!Exists(dir, n)) {
        EXPECT_EQ(reads, 0u) << n << " after " << what << " asked the engine";
      }
    }
  };
  step("mknod", Status::OK());
  step("rename", a_->Rename(root_, dir, "f", dir, "g", 0));
  step("link", a_->Link(root_, f->ino, dir, "h").status());
  step("unlink", a_->Unlink(root_, dir, "h"));
  step("mkdir", a_->Mkdir(root_, dir, "sub", 0755).status());
  step("symlink", a_->Symlink(root_, dir, "s", "g").status());
  SetAttrRequest chmod;
  chmod.mask = kSetMode;
  chmod.mode = 0711;
  step("chmod", a_->SetAttr(root_, dir, chmod).status());
  step("rmdir", a_->Rmdir(root_, dir, "sub"));
  step("rename out", a_->Rename(root_, dir, "g", kRootIno, "g", 0));
  step("rename in", a_->Rename(root_, kRootIno, "g", dir, "x", 0));
  step("rename over", a_->Rename(root_, dir, "s", dir, "x", 0));
  // The root was not created by this client: its absent names are asked.
  EXPECT_GT(ExpectAgrees(kRootIno, "absent", "all"), 0u);
}

TEST_F(DirNamesCacheTest, AnotherClientsCreateIsSeenWithinTheTtlOrAtOurNextCommit) {
  auto b = OpenOn(std::make_shared<kv::KvEngineWrapper>(mem_));
  ASSERT_NE(b, nullptr);
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(a_->Mknod(root_, d->ino, "mine", FileType::kRegular, 0644, 0).ok());
  ASSERT_TRUE(b->Mknod(root_, d->ino, "theirs", FileType::kRegular, 0644, 0).ok());
  clock_.Advance(milliseconds(400));
  // Within the ttl A does not know of B's file (what the kernel's caches allow too)...
  EXPECT_TRUE(a_->Lookup(root_, d->ino, "theirs").status().Is(Code::kNotFound));
  // ...but an exclusive create reads the entry again and does not overwrite it.
  EXPECT_TRUE(
      a_->Mknod(root_, d->ino, "theirs", FileType::kRegular, 0644, 0).status().Is(
          Code::kAlreadyExists));
  // A's next commit in the directory read what B changed: the set is dropped, so B's file is
  // found at once.
  ASSERT_TRUE(a_->Mknod(root_, d->ino, "mine2", FileType::kRegular, 0644, 0).ok());
  EXPECT_TRUE(a_->Lookup(root_, d->ino, "theirs").ok());
  EXPECT_GT(ExpectAgrees(d->ino, "absent", "B's create"), 0u);

  // Without a commit of A, the ttl bounds the delay.
  auto d2 = a_->Mkdir(root_, kRootIno, "d2", 0755);
  ASSERT_TRUE(d2.ok());
  ASSERT_TRUE(b->Mknod(root_, d2->ino, "late", FileType::kRegular, 0644, 0).ok());
  clock_.Advance(milliseconds(999));
  EXPECT_TRUE(a_->Lookup(root_, d2->ino, "late").status().Is(Code::kNotFound));
  clock_.Advance(milliseconds(1));
  EXPECT_TRUE(a_->Lookup(root_, d2->ino, "late").ok());
}

TEST_F(DirNamesCacheTest, DirectoriesMadeByAnotherClientAreAlwaysAsked) {
  auto b = OpenOn(std::make_shared<kv::KvEngineWrapper>(mem_));
  ASSERT_NE(b, nullptr);
  auto d = b->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  // A changes it: the attr it read was B's, so A never learns the whole set of names.
  ASSERT_TRUE(a_->Mknod(root_, d->ino, "f", FileType::kRegular, 0644, 0).ok());
  EXPECT_GT(ExpectAgrees(d->ino, "absent", "mknod in B's directory"), 0u);
  EXPECT_GT(ExpectAgrees(d->ino, "f", "mknod in B's directory"), 0u);
}

TEST_F(DirNamesCacheTest, PermissionsAreCheckedOnLocalAnswers) {
  auto d = a_->Mkdir(root_, kRootIno, "d", 0700);
  ASSERT_TRUE(d.ok());
  Context other;
  other.uid = 1000;
  other.gid = 1000;
  counting_->Reset();
  auto e = a_->Lookup(other, d->ino, "absent");
  EXPECT_TRUE(e.status().Is(Code::kPermissionDenied)) << e.status().ToString();
  EXPECT_EQ(counting_->counts().reads, 0u);
  EXPECT_TRUE(a_->Lookup(root_, d->ino, std::string(300, 'n')).status().Is(Code::kNameTooLong));
}

TEST_F(DirNamesCacheTest, ZeroTtlKeepsNothing) {
  a_.reset();
  a_ = OpenOn(counting_, 0);
  auto d = a_->Mkdir(root_, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  EXPECT_GT(ExpectAgrees(d->ino, "absent", "mkdir"), 0u);
}

TEST(DirNamesCacheConcurrencyTest, ConcurrentOwnCommitsNeverHideAName) {
  // Creates, renames and unlinks in one directory from many threads overlap, fail (injected
  // conflicts), retry and report back out of order; no lookup in between ever calls absent a
  // name the engine holds.
  kv::MemKvOptions mo;
  mo.conflict_rate = 0.2;
  mo.seed = 5;
  auto mem =
      std::make_shared<kv::testing::LateReplyKv>(
      std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open(mo))), 13);
  VolumeFormat f;
  f.name = "vol";
  f.uuid = "dnc-uuid";
  f.storage_url = "mem://dir-names-cache-test";
  ASSERT_TRUE(Meta::Format(*mem, f, false).ok());
  MetaOptions o;
  o.background_jobs = false;
  o.dir_names_cache_ms = 1000;
  auto m = Meta::Open(mem, o);
  ASSERT_TRUE(m.ok());
  const Context root;
  auto d = (*m)->Mkdir(root, kRootIno, "d", 0755);
  ASSERT_TRUE(d.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; i++) {
        const std::string tmp = ".tmp" + std::to_string(t) + "_" + std::to_string(i);
        const std::string out = "out" + std::to_string(t) + "_" + std::to_string(i);
        EXPECT_TRUE((*m)->Lookup(root, d->ino, tmp).status().Is(Code::kNotFound));
        ASSERT_TRUE((*m)->Mknod(root, d->ino, tmp, FileType::kRegular, 0644, 0).ok());
        EXPECT_TRUE((*m)->Lookup(root, d->ino, tmp).ok()) << tmp;
        ASSERT_TRUE((*m)->Rename(root, d->ino, tmp, d->ino, out, 0).ok());
        EXPECT_TRUE((*m)->Lookup(root, d->ino, out).ok()) << out;
        EXPECT_TRUE((*m)->Lookup(root, d->ino, tmp).status().Is(Code::kNotFound)) << tmp;
        if (i % 3 == 0) {
          ASSERT_TRUE((*m)->Unlink(root, d->ino, out).ok());
          EXPECT_TRUE((*m)->Lookup(root, d->ino, out).status().Is(Code::kNotFound)) << out;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 6; t++) {
    for (int i = 0; i < 30; i++) {
      const std::string out = "out" + std::to_string(t) + "_" + std::to_string(i);
      EXPECT_EQ((*m)->Lookup(root, d->ino, out).ok(), i % 3 != 0) << out;
    }
  }
}

}  // namespace
}  // namespace strata::meta
