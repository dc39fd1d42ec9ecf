// RunFsck on memkv: a volume built through Meta is clean; each deliberately broken record is
// found with the right kind and place, repaired, and the next run is clean.
#include "meta/fsck.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "meta/schema.h"

namespace strata::meta {
namespace {

class FsckTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(0); }

  void Reopen(int trash_days) {
    meta_.reset();
    auto kv = kv::MemKv::Open();
    ASSERT_TRUE(kv.ok());
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*kv));
    VolumeFormat f;
    f.name = "vol";
    f.uuid = "0f2c0000-0000-4000-8000-000000000001";
    f.storage_url = "mem://";
    f.block_size = 1 << 20;
    f.trash_days = trash_days;
    ASSERT_TRUE(Meta::Format(*engine_, f, false).ok());
    MetaOptions mo;
    mo.background_jobs = false;
    auto m = Meta::Open(engine_, mo);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    meta_ = std::move(*m);
  }

  Ino Mkdir(Ino parent, const std::string& name) {
    auto e = meta_->Mkdir(ctx_, parent, name, 0755);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? e->ino : 0;
  }
  // A regular file with `len` bytes in one slice.
  Ino File(Ino parent, const std::string& name, uint32_t len) {
    auto e = meta_->Mknod(ctx_, parent, name, FileType::kRegular, 0644, 0);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return 0;
    if (len > 0) {
      auto id = meta_->NewSliceId();
      EXPECT_TRUE(id.ok());
      Slice s{0, *id, len, 0, len};
      EXPECT_TRUE(meta_->WriteSlice(e->ino, 0, s, Timespec{1700000000, 0}).ok());
    }
    return e->ino;
  }

  FsckResult Run(bool repair, const std::string& path = "") {
    FsckOptions o;
    o.repair = repair;
    o.path = path;
    o.page = 3;  // small pages: every scan crosses page boundaries
    auto r = RunFsck(*engine_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : FsckResult{};
  }
  static std::string Kinds(const FsckResult& r) {
    std::string s;
    for (const auto& p : r.problems) s += (s.empty() ? "" : ",") + p.kind;
    return s;
  }
  static const FsckProblem* FindKind(const FsckResult& r, const std::string& kind) {
    for (const auto& p : r.problems) {
      if (p.kind == kind) return &p;
    }
    return nullptr;
  }
  uint64_t SliceOfSize(uint32_t size) {
    const FsckResult r = Run(false);  // named: a range-for does not keep a temporary alive
    for (const auto& e : r.slices.entries()) {
      if (e.size == size) return e.id;
    }
    ADD_FAILURE() << "no slice of size " << size;
    return 0;
  }
  // Detect, repair (every problem repaired), then clean.
  void ExpectRepaired(const std::string& kind) {
    FsckResult found = Run(false);
    ASSERT_NE(FindKind(found, kind), nullptr) << Kinds(found);
    FsckResult fixed = Run(true);
    EXPECT_EQ(fixed.problem_count, found.problem_count) << Kinds(fixed);
    EXPECT_EQ(fixed.repaired_count, fixed.problem_count) << Kinds(fixed);
    FsckResult after = Run(false);
    EXPECT_EQ(after.problem_count, 0u) << Kinds(after);
  }
  void Mutate(const std::function<void(kv::Transaction&)>& fn) {
    ASSERT_TRUE(kv::RunTxn(*engine_, [&](kv::Transaction& txn) {
                  fn(txn);
                  return Status::OK();
                }).ok());
  }

  // A volume with directories, files, a hard link, a shared slice, a deleted file.
  void Populate() {
    d_ = Mkdir(kRootIno, "d");
    sub_ = Mkdir(d_, "sub");
    f_ = File(d_, "f", 1000);
    File(sub_, "g", 3 << 20);
    File(kRootIno, "empty", 0);
    ASSERT_TRUE(meta_->Link(ctx_, f_, kRootIno, "f-link").ok());
    Ino copy = File(kRootIno, "copy", 0);
    ASSERT_TRUE(meta_->CopyFileRange(ctx_, f_, 0, copy, 0, 1000).ok());
    Ino gone = File(kRootIno, "gone", 500);
    (void)gone;
    ASSERT_TRUE(meta_->Unlink(ctx_, kRootIno, "gone").ok());
    ASSERT_TRUE(meta_->Symlink(ctx_, d_, "ln", "f").ok());
  }

  Context ctx_;
  std::shared_ptr<kv::KvEngine> engine_;
  std::unique_ptr<Meta> meta_;
  Ino d_ = 0, sub_ = 0, f_ = 0;
};

TEST_F(FsckTest, VolumeBuiltThroughMetaIsClean) {
  Populate();
  FsckResult r = Run(false);
  EXPECT_EQ(r.problem_count, 0u) << Kinds(r);
  EXPECT_TRUE(r.whole_volume);
  EXPECT_TRUE(r.skipped.empty());
  // f's slice is shared by copy: 2 references; g's slice 1; the deleted file's still counts
  // (its D record holds it until the cleaner runs).
  ASSERT_EQ(r.slices.size(), 3u);
  auto* shared = r.slices.Find(r.slices.entries()[0].id);
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->refs, 2u);
  EXPECT_EQ(r.dirs, 3u);
  // Cleaning the deleted file leaves the volume clean, with one slice fewer.
  ASSERT_TRUE(meta_->ProcessDeletedFiles(10).ok());
  FsckResult after = Run(false);
  EXPECT_EQ(after.problem_count, 0u) << Kinds(after);
  EXPECT_EQ(after.slices.size(), 2u);
}

TEST_F(FsckTest, TrashIsWalkedAndClean) {
  Reopen(1);
  Populate();  // "gone" is in /.trash now
  FsckResult r = Run(false);
  EXPECT_EQ(r.problem_count, 0u) << Kinds(r);
  EXPECT_EQ(r.dirs, 5u);  // /, d, sub, /.trash, its hour directory
}

TEST_F(FsckTest, DanglingEntryIsDroppedByRepair) {
  Populate();
  Mutate([&](kv::Transaction& txn) {
    txn.Put(schema::EntryKey(d_, "ghost"), schema::EncodeEntry(FileType::kRegular, 424242));
  });
  FsckResult r = Run(false);
  const FsckProblem* p = FindKind(r, "dangling-entry");
  ASSERT_NE(p, nullptr) << Kinds(r);
  EXPECT_EQ(p->where, "/d/ghost");
  EXPECT_EQ(p->ino, 424242u);
  EXPECT_EQ(r.problem_count, 1u) << Kinds(r);
  ExpectRepaired("dangling-entry");
  EXPECT_FALSE(meta_->Lookup(ctx_, d_, "ghost").ok());
}

TEST_F(FsckTest, OrphanGoesToLostAndFound) {
  Populate();
  const Ino g = meta_->Lookup(ctx_, sub_, "g")->ino;
  Mutate([&](kv::Transaction& txn) { txn.Delete(schema::EntryKey(sub_, "g")); });
  FsckResult r = Run(false);
  const FsckProblem* p = FindKind(r, "orphan");
  ASSERT_NE(p, nullptr) << Kinds(r);
  EXPECT_EQ(p->ino, g);
  EXPECT_NE(FindKind(r, "dir-usage"), nullptr) << Kinds(r);  // sub's record still counts g
  ExpectRepaired("orphan");
  auto lf = meta_->Lookup(ctx_, kRootIno, "lost+found");
  ASSERT_TRUE(lf.ok());
  auto moved = meta_->Lookup(ctx_, lf->ino, "#" + std::to_string(g));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->ino, g);
}

TEST_F(FsckTest, OrphanNeverReplacesWhatLostAndFoundHolds) {
  Populate();
  const Ino g = meta_->Lookup(ctx_, sub_, "g")->ino;
  const Ino lf = Mkdir(kRootIno, "lost+found");
  const Ino other = File(lf, "#" + std::to_string(g), 10);
  Mutate([&](kv::Transaction& txn) { txn.Delete(schema::EntryKey(sub_, "g")); });
  ExpectRepaired("orphan");
  EXPECT_EQ(meta_->Lookup(ctx_, lf, "#" + std::to_string(g))->ino, other);
  EXPECT_EQ(meta_->Lookup(ctx_, lf, "#" + std::to_string(g) + ".1")->ino, g);
}

TEST_F(FsckTest, OrphanDirectoryIsOneOrphanWithItsSubtree) {
  Populate();
  Mutate([&](kv::Transaction& txn) { txn.Delete(schema::EntryKey(d_, "sub")); });
  FsckResult r = Run(false);
  size_t orphans = 0;
  for (const auto& p : r.problems) orphans += p.kind == "orphan";
  EXPECT_EQ(orphans, 1u) << Kinds(r);
  EXPECT_EQ(FindKind(r, "orphan")->ino, sub_);
  ExpectRepaired("orphan");
}

TEST_F(FsckTest, WrongReferenceCountIsRewritten) {
  Populate();
  const uint64_t id = SliceOfSize(3 << 20);  // g's slice: one reference
  const uint32_t size = 3 << 20;
  Mutate(
      [&](kv::Transaction& txn) { txn.Put(schema::SliceRefKey(id, size), schema::EncodeI64(5)); });
  ExpectRepaired("refcount");
  std::optional<std::string> k;
  ASSERT_TRUE(kv::RunTxn(*engine_, [&](kv::Transaction& txn) -> Status {
                ASSIGN_OR_RETURN(k, txn.Get(schema::SliceRefKey(id, size)));
                return Status::OK();
              }).ok());
  EXPECT_FALSE(k.has_value());  // one reference is written as no record
}

TEST_F(FsckTest, UnusedReferenceAndReferencedGarbageAreFound) {
  Populate();
  const uint64_t id = SliceOfSize(3 << 20);
  Mutate([&](kv::Transaction& txn) {
    txn.Put(schema::SliceRefKey(987654, 100), schema::EncodeI64(2));
    txn.Put(schema::GarbageSliceKey(id, 3 << 20), "");
  });
  FsckResult r = Run(false);
  EXPECT_NE(FindKind(r, "refcount-unused"), nullptr) << Kinds(r);
  EXPECT_NE(FindKind(r, "garbage-referenced"), nullptr) << Kinds(r);
  ExpectRepaired("refcount-unused");
  auto pending = meta_->PendingSliceDeletions(10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);  // the unused slice, handed to the deleter
  EXPECT_EQ((*pending)[0].id, 987654u);
}

TEST_F(FsckTest, WrongUsageAndCountersAreRecomputed) {
  Populate();
  Mutate([&](kv::Transaction& txn) {
    txn.Put(schema::UsageKey(d_), schema::EncodeI64(1) + schema::EncodeI64(77));
    txn.Put(schema::CounterKey("usedSpace/3"), schema::EncodeI64(123456789));
  });
  FsckResult r = Run(false);
  EXPECT_NE(FindKind(r, "dir-usage"), nullptr) << Kinds(r);
  EXPECT_NE(FindKind(r, "volume-counters"), nullptr) << Kinds(r);
  ExpectRepaired("dir-usage");
  auto usage = meta_->GetDirUsage(d_);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->bytes, 1000);  // f (sub and ln count no bytes)
  EXPECT_EQ(usage->inodes, 3);
}

TEST_F(FsckTest, WrongLinkCountsAreFixed) {
  Populate();
  Mutate([&](kv::Transaction& txn) {
    auto a = schema::DecodeAttr(**txn.Get(schema::AttrKey(f_)));
    a->nlink = 5;
    txn.Put(schema::AttrKey(f_), schema::EncodeAttr(*a));
    auto d = schema::DecodeAttr(**txn.Get(schema::AttrKey(d_)));
    d->nlink = 9;
    txn.Put(schema::AttrKey(d_), schema::EncodeAttr(*d));
  });
  FsckResult r = Run(false);
  EXPECT_NE(FindKind(r, "nlink"), nullptr) << Kinds(r);
  EXPECT_NE(FindKind(r, "dir-nlink"), nullptr) << Kinds(r);
  ExpectRepaired("nlink");
  EXPECT_EQ(meta_->GetAttr(f_)->nlink, 2u);
  EXPECT_EQ(meta_->GetAttr(d_)->nlink, 3u);
}

TEST_F(FsckTest, RecordsOfMissingInodesAreReleased) {
  Populate();
  const Ino g = meta_->Lookup(ctx_, sub_, "g")->ino;
  // The attr and entry gone, the chunk list left behind with no D record: a leak.
  Mutate([&](kv::Transaction& txn) {
    txn.Delete(schema::AttrKey(g));
    txn.Delete(schema::EntryKey(sub_, "g"));
  });
  FsckResult r = Run(false);
  EXPECT_NE(FindKind(r, "chunks-without-inode"), nullptr) << Kinds(r);
  EXPECT_NE(FindKind(r, "dir-usage"), nullptr) << Kinds(r);
  EXPECT_NE(FindKind(r, "volume-counters"), nullptr) << Kinds(r);
  ExpectRepaired("chunks-without-inode");
  ASSERT_TRUE(meta_->ProcessDeletedFiles(10).ok());         // the repair's D record releases it
  EXPECT_EQ(meta_->PendingSliceDeletions(10)->size(), 2u);  // g's and the deleted file's
  EXPECT_EQ(Run(false).problem_count, 0u);
}

TEST_F(FsckTest, UnlinkedInodeIsFineOnlyWhileHeldOpen) {
  Populate();
  Attr a;
  a.type = FileType::kRegular;
  a.mode = 0644;
  a.nlink = 0;
  a.parent = kRootIno;
  Mutate([&](kv::Transaction& txn) {
    txn.Put(schema::AttrKey(5000), schema::EncodeAttr(a));
    txn.Put(schema::SustainedKey(7, 5000), "");
  });
  EXPECT_EQ(Run(false).problem_count, 0u);  // sustained by session 7
  Mutate([&](kv::Transaction& txn) { txn.Delete(schema::SustainedKey(7, 5000)); });
  ExpectRepaired("unlinked-unheld");
  EXPECT_FALSE(meta_->GetAttr(5000).ok());  // released
}

TEST_F(FsckTest, HardLinkedOrphanKeepsOneLinkInLostAndFound) {
  Populate();
  // Both entries of the hard-linked f gone (usage records fixed by the same repair).
  Mutate([&](kv::Transaction& txn) {
    txn.Delete(schema::EntryKey(d_, "f"));
    txn.Delete(schema::EntryKey(kRootIno, "f-link"));
  });
  FsckResult r = Run(false);
  const FsckProblem* p = FindKind(r, "orphan");
  ASSERT_NE(p, nullptr) << Kinds(r);
  EXPECT_EQ(p->ino, f_);
  ExpectRepaired("orphan");
  auto a = meta_->GetAttr(f_);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->nlink, 1u);
  EXPECT_EQ(a->parent, meta_->Lookup(ctx_, kRootIno, "lost+found")->ino);
}

TEST_F(FsckTest, SubtreeChecksOnlyItsOwnRecords) {
  Populate();
  Mutate([&](kv::Transaction& txn) {
    txn.Put(schema::EntryKey(sub_, "ghost"), schema::EncodeEntry(FileType::kRegular, 424242));
    txn.Put(schema::EntryKey(kRootIno, "ghost"), schema::EncodeEntry(FileType::kRegular, 424243));
  });
  FsckResult r = Run(false, "/d");
  EXPECT_FALSE(r.whole_volume);
  EXPECT_FALSE(r.skipped.empty());
  ASSERT_EQ(r.problem_count, 1u) << Kinds(r);
  EXPECT_EQ(r.problems[0].where, "/d/sub/ghost");
  EXPECT_EQ(r.slices.size(), 2u);  // f's and g's slices
}

TEST_F(FsckTest, BadPathIsAnError) {
  Populate();
  FsckOptions o;
  o.path = "/nope";
  EXPECT_EQ(RunFsck(*engine_, o).code(), Code::kNotFound);
  o.path = "/d/f";
  EXPECT_EQ(RunFsck(*engine_, o).code(), Code::kNotDir);
}

}  // namespace
}  // namespace strata::meta
