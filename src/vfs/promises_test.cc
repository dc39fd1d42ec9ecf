// Volume over memkv:// and a mem:// store behind a FaultyStore (real engine and store, in
// memory): the promises of issue 8 as a FUSE user would observe them through the VFS —
// write errors reach every open handle once (a read-only close or another handle's truncate
// cannot hide them), O_SYNC writes are durable on return, fsync of a directory syncs the
// engine, an unlinked open file reports nlink 0 (with and without the trash).
#include <fcntl.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "object/faulty_store.h"
#include "object/mem_store.h"
#include "vfs/test_client.h"
#include "vfs/vfs.h"

namespace strata::vfs {
namespace {

// Forwards everything to a real engine and counts Sync calls (what became durable when).
class SyncCountingKv : public kv::KvEngine {
 public:
  explicit SyncCountingKv(std::shared_ptr<kv::KvEngine> target) : target_(std::move(target)) {}
  std::string Describe() const override { return target_->Describe(); }
  Result<std::unique_ptr<kv::Transaction>> Begin(bool read_only) override {
    return target_->Begin(read_only);
  }
  Status Clear() override { return target_->Clear(); }
  Status Sync() override {
    syncs++;
    return target_->Sync();
  }
  std::atomic<int> syncs{0};

 private:
  std::shared_ptr<kv::KvEngine> target_;
};

class PromisesTest : public ::testing::Test {
 protected:
  void Format(int trash_days) {
    auto mem = std::shared_ptr<object::ObjectStore>(object::MemStore::Open("promises"));
    faulty_ = std::shared_ptr<object::FaultyStore>(object::FaultyStore::Open(mem, {}));
    registries_.stores.Register("faulty", [this](const Uri&, const object::StoreOptions&)
                                   -> Result<std::shared_ptr<object::ObjectStore>> {
      return std::shared_ptr<object::ObjectStore>(faulty_);
    });
    auto e = kv::MemKv::Open();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::make_shared<SyncCountingKv>(std::shared_ptr<kv::KvEngine>(std::move(*e)));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "test-uuid";
    f.storage_url = "faulty://";
    f.block_size = 64 << 10;
    f.trash_days = trash_days;
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
  }
  void SetUp() override { Format(0); }

  testing::TestClient OpenVolume() {
    auto v = testing::OpenTestClient(engine_, {}, &registries_);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(*v) : testing::TestClient();
  }

  // Every put fails with ENOSPC (a full store) until the rules are cleared.
  void FillStore() {
    object::FaultRule rule;
    rule.ops = object::OpBit(object::StoreOp::kPut);
    rule.code = Code::kNoSpace;
    faulty_->AddRule(rule);
  }

  client::Registries registries_;
  std::shared_ptr<object::FaultyStore> faulty_;
  std::shared_ptr<SyncCountingKv> engine_;
  Context ctx_;  // root
};

TEST_F(PromisesTest, ReadOnlyCloseFirstDoesNotTakeTheWritersError) {
  auto v = OpenVolume();
  auto w = v->Create(ctx_, kRootIno, "f", 0644, O_RDWR);
  ASSERT_TRUE(w.ok());
  Ino ino = w->entry.ino;
  auto r = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(r.ok());
  FillStore();
  ASSERT_TRUE(v->Write(ctx_, ino, w->open.fh, 0, std::string(100000, 'x')).ok());
  // The reader closes first: 0, and the error is still the writer's to hear.
  EXPECT_TRUE(v->Flush(ctx_, ino, r->fh, 1).ok());
  EXPECT_TRUE(v->Release(ino, r->fh).ok());
  Status st = v->Flush(ctx_, ino, w->open.fh, 1);
  EXPECT_TRUE(st.Is(Code::kNoSpace)) << st.ToString();
  EXPECT_TRUE(v->Release(ino, w->open.fh).ok());
}

TEST_F(PromisesTest, TruncateAndOTruncFromOtherHandlesDoNotEatTheError) {
  auto v = OpenVolume();
  auto w = v->Create(ctx_, kRootIno, "f", 0644, O_RDWR);
  ASSERT_TRUE(w.ok());
  Ino ino = w->entry.ino;
  auto other = v->OpenFile(ctx_, ino, O_RDWR);
  ASSERT_TRUE(other.ok());
  FillStore();
  ASSERT_TRUE(v->Write(ctx_, ino, w->open.fh, 0, std::string(1000, 'x')).ok());
  meta::SetAttrRequest trunc;
  trunc.mask = meta::kSetSize;
  trunc.size = 10;
  EXPECT_TRUE(v->SetAttr(ctx_, ino, trunc, other->fh).ok());       // ftruncate
  EXPECT_TRUE(v->Fallocate(ctx_, ino, other->fh, 0, 0, 4096).ok());  // metadata only
  auto t = v->OpenFile(ctx_, ino, O_WRONLY | O_TRUNC);              // opened after it
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(v->Flush(ctx_, ino, t->fh, 1).ok());
  // Both handles that were open when the upload failed hear of it, once each.
  EXPECT_TRUE(v->Flush(ctx_, ino, w->open.fh, 1).Is(Code::kNoSpace));
  EXPECT_TRUE(v->Fsync(ctx_, ino, other->fh, false).Is(Code::kNoSpace));
  EXPECT_TRUE(v->Flush(ctx_, ino, w->open.fh, 1).ok());
  EXPECT_TRUE(v->Flush(ctx_, ino, other->fh, 1).ok());
  for (uint64_t fh : {w->open.fh, other->fh, t->fh}) EXPECT_TRUE(v->Release(ino, fh).ok());
}

TEST_F(PromisesTest, AnErrorAfterTheLastCloseGoesToTheNextOpen) {
  auto v = OpenVolume();
  auto w = v->Create(ctx_, kRootIno, "f", 0644, O_RDWR);
  ASSERT_TRUE(w.ok());
  Ino ino = w->entry.ino;
  ASSERT_TRUE(v->Flush(ctx_, ino, w->open.fh, 1).ok());  // close() returned 0 ...
  FillStore();
  // ... then the kernel wrote back an mmap'ed page through the handle before releasing it.
  ASSERT_TRUE(v->Write(ctx_, ino, w->open.fh, 0, "page").ok());
  EXPECT_TRUE(v->Release(ino, w->open.fh).ok());  // cannot report; logs and keeps it
  faulty_->ClearRules();
  auto next = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(v->Fsync(ctx_, ino, next->fh, false).Is(Code::kNoSpace));
  EXPECT_TRUE(v->Fsync(ctx_, ino, next->fh, false).ok());
  EXPECT_TRUE(v->Release(ino, next->fh).ok());
}

TEST_F(PromisesTest, OSyncWriteIsCommittedAndSyncedOnReturn) {
  auto v = OpenVolume();
  auto c = v->Create(ctx_, kRootIno, "f", 0644, O_WRONLY | O_SYNC);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  int before = engine_->syncs;
  ASSERT_EQ(*v->Write(ctx_, ino, c->open.fh, 0, "durable"), 7u);
  EXPECT_GT(engine_->syncs, before);
  // Committed before any close: a second client sees it.
  auto other = OpenVolume();
  auto a = other->GetAttr(ctx_, ino);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->length, 7u);
  // A plain handle's write is not synced.
  auto plain = v->OpenFile(ctx_, ino, O_WRONLY);
  ASSERT_TRUE(plain.ok());
  before = engine_->syncs;
  ASSERT_TRUE(v->Write(ctx_, ino, plain->fh, 7, "!").ok());
  EXPECT_EQ(engine_->syncs, before);
  // An O_SYNC write's error is its write()'s.
  FillStore();
  EXPECT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, "lost").status().Is(Code::kNoSpace));
  for (uint64_t fh : {c->open.fh, plain->fh}) (void)v->Release(ino, fh);
}

TEST_F(PromisesTest, FsyncDirSyncsTheEngine) {
  auto v = OpenVolume();
  ASSERT_TRUE(v->Mkdir(ctx_, kRootIno, "d", 0755).ok());
  auto dh = v->OpenDir(ctx_, kRootIno);
  ASSERT_TRUE(dh.ok());
  int before = engine_->syncs;
  EXPECT_TRUE(v->FsyncDir(ctx_, kRootIno, *dh, false).ok());
  EXPECT_EQ(engine_->syncs, before + 1);
  EXPECT_TRUE(v->FsyncDir(ctx_, kRootIno, *dh + 1000, false).Is(Code::kBadHandle));
  EXPECT_TRUE(v->ReleaseDir(kRootIno, *dh).ok());
}

TEST_F(PromisesTest, UnlinkedOpenFileReportsNlinkZero) {
  for (int trash_days : {0, 1}) {
    SCOPED_TRACE(trash_days ? "trash on" : "trash off");
    engine_.reset();
    registries_ = client::Registries();
    Format(trash_days);
    auto v = OpenVolume();
    auto c = v->Create(ctx_, kRootIno, "f", 0644, O_RDWR);
    ASSERT_TRUE(c.ok());
    Ino ino = c->entry.ino;
    ASSERT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, "data").ok());
    ASSERT_TRUE(v->Link(ctx_, ino, kRootIno, "g").ok());
    ASSERT_TRUE(v->Unlink(ctx_, kRootIno, "f").ok());
    EXPECT_EQ(v->GetAttr(ctx_, ino)->nlink, 1u);  // one link left
    ASSERT_TRUE(v->Unlink(ctx_, kRootIno, "g").ok());
    auto a = v->GetAttr(ctx_, ino);  // fstat of the open descriptor
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->nlink, 0u);
    EXPECT_EQ(a->length, 4u);
    meta::SetAttrRequest chmod;  // fchmod: its reply shows the same
    chmod.mask = meta::kSetMode;
    chmod.mode = 0600;
    EXPECT_EQ(v->SetAttr(ctx_, ino, chmod, c->open.fh)->nlink, 0u);
    std::string back;
    ASSERT_TRUE(v->Read(ctx_, ino, c->open.fh, 0, 10, &back).ok());
    EXPECT_EQ(back, "data");
    EXPECT_TRUE(v->Flush(ctx_, ino, c->open.fh, 1).ok());
    EXPECT_TRUE(v->Release(ino, c->open.fh).ok());
  }
}

}  // namespace
}  // namespace strata::vfs
