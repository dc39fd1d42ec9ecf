// Directory quotas on memkv and SQLite: records, nested enforcement (kQuotaExceeded before
// anything is written), usage moved by renames, check/repair, statfs, two clients sharing a
// quota within the stated overshoot bound, and the volume limits without the all-shard read.
#include "meta/quota.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "meta/kv/counting_kv.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "meta/quota_kv.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

enum class Engine { kMem, kSqlite };

class QuotaTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kMem) {
      auto kv = kv::MemKv::Open();
      ASSERT_TRUE(kv.ok());
      engine_ = std::shared_ptr<kv::KvEngine>(std::move(*kv));
    } else {
      kv::KvRegistry reg;
      kv::RegisterSqliteKv(reg);
      db_ = std::filesystem::temp_directory_path() /
            ("quota_test_" + std::to_string(::getpid()) + "_" + std::to_string(++db_seq_) + ".db");
      std::filesystem::remove(db_);
      auto kv = reg.Open("sqlite3://" + db_.string());
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      engine_ = *kv;
    }
    VolumeFormat f;
    f.name = "vol";
    f.uuid = "0f2c0000-0000-4000-8000-000000000001";
    f.storage_url = "mem://";
    f.block_size = 1 << 20;
    ASSERT_TRUE(Meta::Format(*engine_, f, false).ok());
    meta_ = OpenMeta();
  }
  void TearDown() override {
    meta_.reset();
    engine_.reset();
    if (!db_.empty()) {
      std::filesystem::remove(db_);
      std::filesystem::remove(db_.string() + "-wal");
      std::filesystem::remove(db_.string() + "-shm");
    }
  }
  std::unique_ptr<Meta> OpenMeta() {
    MetaOptions mo;
    mo.background_jobs = false;
    auto m = Meta::Open(engine_, mo);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  Result<Ino> Mkdir(Meta& m, Ino parent, const std::string& name) {
    ASSIGN_OR_RETURN(Entry e, m.Mkdir(ctx_, parent, name, 0755));
    return e.ino;
  }
  Result<Ino> File(Meta& m, Ino parent, const std::string& name, uint32_t len) {
    ASSIGN_OR_RETURN(Entry e, m.Mknod(ctx_, parent, name, FileType::kRegular, 0644, 0));
    if (len > 0) RETURN_IF_ERROR(Grow(m, e.ino, 0, len));
    return e.ino;
  }
  // Appends a slice of len bytes at pos (the file grows to pos + len).
  Status Grow(Meta& m, Ino ino, uint32_t pos, uint32_t len) {
    ASSIGN_OR_RETURN(uint64_t id, m.NewSliceId());
    return m.WriteSlice(ino, 0, Slice{pos, id, len, 0, len}, Timespec{1700000000, 0});
  }
  quota::Record Rec(const std::string& path) {
    auto i = quota::Get(*meta_, path);
    EXPECT_TRUE(i.ok()) << i.status().ToString();
    return i.ok() ? i->record : quota::Record{};
  }
  void ExpectClean() {
    auto r = quota::Check(*meta_, "", false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& c : *r) {
      EXPECT_TRUE(c.ok()) << c.quota.path << ": recorded " << c.quota.record.used_bytes << "/"
                          << c.quota.record.used_inodes << ", computed " << c.computed.bytes
                          << "/" << c.computed.inodes << ", " << c.dirs.size() << " dirs differ";
    }
  }

  static inline int db_seq_ = 0;
  Context ctx_;
  std::filesystem::path db_;
  std::shared_ptr<kv::KvEngine> engine_;
  std::unique_ptr<Meta> meta_;
};

TEST_P(QuotaTest, SetGetListDeleteAndBadInput) {
  ASSERT_TRUE(Mkdir(*meta_, kRootIno, "t").ok());
  auto t = meta_->ResolveDir("/t");
  ASSERT_TRUE(File(*meta_, *t, "f", 1000).ok());
  EXPECT_TRUE(quota::Set(*meta_, "/t", std::nullopt, std::nullopt).status().Is(Code::kInvalidArgument));
  EXPECT_TRUE(quota::Set(*meta_, "/nope", 10, std::nullopt).status().Is(Code::kNotFound));
  EXPECT_TRUE(quota::Set(*meta_, "/t/f", 10, std::nullopt).status().Is(Code::kNotDir));
  EXPECT_TRUE(quota::Get(*meta_, "/t").status().Is(Code::kNotFound));
  auto s = quota::Set(*meta_, "/t", 1 << 20, std::nullopt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->path, "/t");
  EXPECT_EQ(s->record.used_bytes, 1000);  // starts from the existing usage
  EXPECT_EQ(s->record.used_inodes, 1);
  ASSERT_TRUE(quota::Set(*meta_, "/t", std::nullopt, 50).ok());  // keeps the byte limit
  EXPECT_EQ(Rec("/t").max_bytes, 1u << 20);
  EXPECT_EQ(Rec("/t").max_inodes, 50u);
  auto l = quota::List(*meta_);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].path, "/t");
  ASSERT_TRUE(quota::Delete(*meta_, "/t").ok());
  EXPECT_TRUE(quota::Delete(*meta_, "/t").Is(Code::kNotFound));
  EXPECT_TRUE(quota::List(*meta_)->empty());
}

TEST_P(QuotaTest, NestedQuotasRefuseGrowthAndWriteNothing) {
  const Ino a = *Mkdir(*meta_, kRootIno, "a");
  const Ino b = *Mkdir(*meta_, a, "b");
  ASSERT_TRUE(quota::Set(*meta_, "/a", 10000, 6).ok());
  ASSERT_TRUE(quota::Set(*meta_, "/a/b", 4000, std::nullopt).ok());
  // b: 1 inode of /a. Files in b count in both.
  auto f = File(*meta_, b, "f", 3000);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  Status over = Grow(*meta_, *f, 3000, 1001);  // b would hold 4001 bytes
  EXPECT_TRUE(over.Is(Code::kQuotaExceeded)) << over.ToString();
  EXPECT_EQ(meta_->GetAttr(*f)->length, 3000u);  // nothing committed
  EXPECT_TRUE(Grow(*meta_, *f, 3000, 1000).ok());  // exactly at b's limit
  EXPECT_EQ(Rec("/a/b").used_bytes, 4000);
  EXPECT_EQ(Rec("/a").used_bytes, 4000);
  // The outer limit: 6 inodes in /a (b and f are 2).
  for (int i = 0; i < 4; i++) ASSERT_TRUE(File(*meta_, a, "g" + std::to_string(i), 0).ok());
  EXPECT_TRUE(File(*meta_, b, "h", 0).status().Is(Code::kQuotaExceeded));
  EXPECT_TRUE(Mkdir(*meta_, a, "d").status().Is(Code::kQuotaExceeded));
  EXPECT_TRUE(meta_->Symlink(ctx_, a, "s", "x").status().Is(Code::kQuotaExceeded));
  EXPECT_TRUE(meta_->Lookup(ctx_, a, "d").status().Is(Code::kNotFound));
  EXPECT_TRUE(meta_->Link(ctx_, *f, a, "l").status().Is(Code::kQuotaExceeded));
  // Outside the quotas nothing is limited.
  EXPECT_TRUE(File(*meta_, kRootIno, "free", 50000).ok());
  // Freeing space admits again.
  ASSERT_TRUE(meta_->Unlink(ctx_, a, "g0").ok());
  EXPECT_TRUE(Mkdir(*meta_, a, "d").ok());
  EXPECT_EQ(Rec("/a").used_inodes, 6);
  ExpectClean();
}

TEST_P(QuotaTest, RenamesMoveUsageAcrossBoundaries) {
  const Ino q1 = *Mkdir(*meta_, kRootIno, "q1");
  const Ino q2 = *Mkdir(*meta_, kRootIno, "q2");
  const Ino out = *Mkdir(*meta_, kRootIno, "out");
  ASSERT_TRUE(quota::Set(*meta_, "/q1", 100000, std::nullopt).ok());
  ASSERT_TRUE(quota::Set(*meta_, "/q2", 5000, std::nullopt).ok());
  ASSERT_TRUE(File(*meta_, q1, "f", 3000).ok());
  const Ino sub = *Mkdir(*meta_, q1, "sub");
  const Ino deep = *Mkdir(*meta_, sub, "deep");
  ASSERT_TRUE(File(*meta_, deep, "g", 4000).ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 7000);
  // A file into a quota with room: moves.
  ASSERT_TRUE(meta_->Rename(ctx_, q1, "f", q2, "f", 0).ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 4000);
  EXPECT_EQ(Rec("/q2").used_bytes, 3000);
  // A directory whose subtree does not fit: refused, nothing moved.
  Status s = meta_->Rename(ctx_, q1, "sub", q2, "sub", 0);
  EXPECT_TRUE(s.Is(Code::kQuotaExceeded)) << s.ToString();
  EXPECT_TRUE(meta_->Lookup(ctx_, q1, "sub").ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 4000);
  // Out of every quota and back into one.
  ASSERT_TRUE(meta_->Rename(ctx_, q1, "sub", out, "sub", 0).ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 0);
  EXPECT_EQ(Rec("/q1").used_inodes, 0);
  // Writes below the moved directory no longer count in q1.
  ASSERT_TRUE(File(*meta_, deep, "h", 500).ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 0);
  ASSERT_TRUE(quota::Delete(*meta_, "/q2").ok());
  ASSERT_TRUE(meta_->Rename(ctx_, out, "sub", q1, "sub", 0).ok());
  EXPECT_EQ(Rec("/q1").used_bytes, 4500);
  EXPECT_EQ(Rec("/q1").used_inodes, 4);  // sub, deep, g, h
  // A quota directory itself moved below another quota carries its usage.
  ASSERT_TRUE(quota::Set(*meta_, "/q1/sub", 9000, std::nullopt).ok());
  const Ino top = *Mkdir(*meta_, kRootIno, "top");
  ASSERT_TRUE(quota::Set(*meta_, "/top", 100000, std::nullopt).ok());
  ASSERT_TRUE(meta_->Rename(ctx_, q1, "sub", top, "sub", 0).ok());
  EXPECT_EQ(Rec("/top").used_bytes, 4500);
  EXPECT_EQ(Rec("/q1").used_bytes, 0);
  ExpectClean();
}

TEST_P(QuotaTest, CheckFindsAndRepairsDrift) {
  const Ino a = *Mkdir(*meta_, kRootIno, "a");
  const Ino b = *Mkdir(*meta_, a, "b");
  ASSERT_TRUE(File(*meta_, b, "f", 700).ok());
  ASSERT_TRUE(quota::Set(*meta_, "/a", 0, 100).ok());
  ExpectClean();
  // Break the usage record of b and the quota's used fields behind Meta's back.
  ASSERT_TRUE(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
                txn.Put(schema::UsageKey(b), schema::EncodeI64(1) + schema::EncodeI64(9));
                quota::Record r = Rec("/a");
                r.used_bytes = 12345;
                txn.Put(schema::QuotaKey(a), quota::EncodeRecord(r));
                return Status::OK();
              }).ok());
  auto r = quota::Check(*meta_, "/a", false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_FALSE((*r)[0].ok());
  ASSERT_EQ((*r)[0].dirs.size(), 1u);
  EXPECT_EQ((*r)[0].dirs[0].dir, b);
  EXPECT_EQ((*r)[0].computed.bytes, 700);
  EXPECT_EQ((*r)[0].computed.inodes, 2);
  auto fixed = quota::Check(*meta_, "/a", true);
  ASSERT_TRUE(fixed.ok());
  EXPECT_TRUE((*fixed)[0].repaired);
  EXPECT_EQ(Rec("/a").used_bytes, 700);
  EXPECT_EQ(meta_->GetDirUsage(b)->bytes, 700);
  ExpectClean();
}

TEST_P(QuotaTest, StatFsInsideAQuotaReportsTheQuota) {
  const Ino a = *Mkdir(*meta_, kRootIno, "a");
  const Ino b = *Mkdir(*meta_, a, "b");
  auto f = File(*meta_, b, "f", 5000);
  ASSERT_TRUE(quota::Set(*meta_, "/a", 1 << 20, 1000).ok());
  for (Ino ino : {a, b, *f}) {
    auto st = meta_->GetStatFs(ctx_, ino);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->total_bytes, 1u << 20);
    EXPECT_EQ(st->used_bytes, 5000u);
    EXPECT_EQ(st->total_inodes, 1000u);
    EXPECT_EQ(st->used_inodes, 2u);  // b and f (a itself counts in its parent)
  }
  auto root = meta_->GetStatFs(ctx_, kRootIno);
  EXPECT_GT(root->total_bytes, 1u << 40);
}

// Two clients (two Metas, each with its own cache) fill one quota concurrently in turns: the
// quota is passed by at most one client's slack (quota_kv.h Bounds) plus one operation.
TEST_P(QuotaTest, TwoClientsOvershootAtMostTheBound) {
  auto other = OpenMeta();
  const Ino a = *Mkdir(*meta_, kRootIno, "a");
  const quota::Bounds bounds;
  const uint64_t limit = 3 * static_cast<uint64_t>(bounds.slack_bytes);
  ASSERT_TRUE(quota::Set(*meta_, "/a", limit, 400).ok());
  constexpr uint32_t kOp = 256 << 10;
  bool full[2] = {false, false};
  int n = 0;
  while (!(full[0] && full[1]) && n < 1000) {
    Meta& m = n % 2 ? *other : *meta_;
    auto r = File(m, a, "f" + std::to_string(n), kOp);
    if (!r.ok()) {
      ASSERT_TRUE(r.status().Is(Code::kQuotaExceeded)) << r.status().ToString();
      full[n % 2] = true;
    }
    n++;
  }
  const quota::Record r = Rec("/a");
  EXPECT_GE(r.used_bytes, static_cast<int64_t>(limit) - kOp);
  EXPECT_LE(r.used_bytes, static_cast<int64_t>(limit) + bounds.slack_bytes + kOp);
  // Inodes the same way.
  const Ino b = *Mkdir(*meta_, kRootIno, "b");
  ASSERT_TRUE(quota::Set(*meta_, "/b", 0, 200).ok());
  full[0] = full[1] = false;
  n = 0;
  while (!(full[0] && full[1]) && n < 2000) {
    Meta& m = n % 2 ? *other : *meta_;
    if (!File(m, b, "g" + std::to_string(n), 0).ok()) full[n % 2] = true;
    n++;
  }
  EXPECT_GE(Rec("/b").used_inodes, 200 - 1);
  EXPECT_LE(Rec("/b").used_inodes, 200 + bounds.slack_inodes + 1);
  ExpectClean();
}

// The volume limits: ENOSPC before anything is written, without reading every usage shard.
TEST_P(QuotaTest, VolumeLimitsReturnNoSpace) {
  ASSERT_TRUE(meta_->UpdateFormat([](VolumeFormat& f) {
    f.capacity_bytes = 100000;
    f.max_inodes = 10;
    return Status::OK();
  }).ok());
  auto m = OpenMeta();
  auto f = File(*m, kRootIno, "f", 60000);
  ASSERT_TRUE(f.ok());
  Status s = Grow(*m, *f, 60000, 50000);
  EXPECT_TRUE(s.Is(Code::kNoSpace)) << s.ToString();
  EXPECT_EQ(m->GetAttr(*f)->length, 60000u);
  int made = 1;
  while (File(*m, kRootIno, "g" + std::to_string(made), 0).ok() && made < 50) made++;
  EXPECT_EQ(made, 10);
  auto st = m->GetStatFs(ctx_, kRootIno);
  EXPECT_EQ(st->used_inodes, 10u);
}

INSTANTIATE_TEST_SUITE_P(Engines, QuotaTest, ::testing::Values(Engine::kMem, Engine::kSqlite),
                         [](const auto& info) {
                           return info.param == Engine::kMem ? "memkv" : "sqlite";
                         });

// Round trips: a limit on the volume no longer makes a create read every usage shard, and a
// quota elsewhere costs a create outside it nothing extra.
TEST(QuotaRoundTrips, CreateCostsTheSameWithLimitsAndUnrelatedQuotas) {
  auto mem = kv::MemKv::Open();
  ASSERT_TRUE(mem.ok());
  auto counting = std::make_shared<kv::CountingKv>(std::shared_ptr<kv::KvEngine>(std::move(*mem)));
  VolumeFormat f;
  f.name = "vol";
  f.uuid = "0f2c0000-0000-4000-8000-000000000001";
  f.storage_url = "mem://";
  f.block_size = 1 << 20;
  ASSERT_TRUE(Meta::Format(*counting, f, false).ok());
  MetaOptions mo;
  mo.background_jobs = false;
  auto m = Meta::Open(counting, mo);
  ASSERT_TRUE(m.ok());
  Context ctx;
  auto create = [&](const std::string& name) {
    counting->Reset();
    EXPECT_TRUE((*m)->Mknod(ctx, kRootIno, name, FileType::kRegular, 0644, 0).ok());
    auto c = counting->counts();
    return c.reads + c.validates + c.commits;
  };
  (void)create("warm");  // id batch
  const uint64_t plain = create("plain");
  ASSERT_TRUE((*m)->UpdateFormat([](VolumeFormat& v) {
    v.max_inodes = 1000;
    return Status::OK();
  }).ok());
  auto lim = Meta::Open(counting, mo);
  ASSERT_TRUE(lim.ok());
  m = std::move(lim);
  (void)create("warm2");  // the cached total is read once
  EXPECT_EQ(create("limited"), plain);
  ASSERT_TRUE((*m)->Mkdir(ctx, kRootIno, "q", 0755).ok());
  ASSERT_TRUE(quota::Set(**m, "/q", 0, 10).ok());
  (void)create("warm3");  // the new epoch: the list and the parent chain are read once
  EXPECT_EQ(create("outside"), plain);
}

}  // namespace
}  // namespace strata::meta
