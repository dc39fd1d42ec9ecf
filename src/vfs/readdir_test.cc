// Directory listing through the VFS over memkv:// and mem:// (real engine and store, in
// memory), driven the way the FUSE adapter and the kernel drive it: requests sized for a 4 KiB
// buffer, replies the reader consumes only partly, resumes from the last consumed offset,
// seekdir/rewinddir, and creates/unlinks racing the listing. Checked: exact results, a
// bounded handle window (Volume::GetDirStats), and no re-listing for resumes inside it.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "vfs/test_client.h"
#include "vfs/vfs.h"

namespace strata::vfs {
namespace {

constexpr size_t kMaxWindow = 2 * Volume::kDirPage;

class ReadDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = kv::MemKv::Open();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*e));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "readdir-test-uuid";
    f.storage_url = "mem://readdir-test";
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
    auto v = testing::OpenTestClient(engine_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vol_ = std::move(*v);
  }

  // A directory "dir" holding files named by `names`.
  Ino MakeDir(const std::vector<std::string>& names) {
    auto d = vol_->Mkdir(ctx_, kRootIno, "dir", 0755);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    for (const auto& n : names) {
      auto r = vol_->Mknod(ctx_, d->ino, n, FileType::kRegular, 0640, 0);
      EXPECT_TRUE(r.ok()) << n << ": " << r.status().ToString();
    }
    return d->ino;
  }

  std::shared_ptr<kv::KvEngine> engine_;
  testing::TestClient vol_;
  Context ctx_;  // root
};

// Names that are not created in name order.
std::vector<std::string> Names(size_t n, const std::string& prefix) {
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string((i * 7919) % n));
  return out;
}

// One reader of a directory handle, as the kernel and ops_dir.cc behave together: each FUSE
// request asks for what the adapter estimates fits in 4 KiB, the adapter packs dirents until
// the buffer is full, and the reader's getdents buffer ends somewhere in that reply, so only
// a prefix is consumed and the next request resumes from the last consumed offset.
class KernelReader {
 public:
  KernelReader(Volume& v, Ino dir, uint64_t fh, bool plus, uint32_t seed)
      : v_(v), dir_(dir), fh_(fh), plus_(plus), rng_(seed) {}

  // The items consumed by one getdents step; empty at the end of the directory.
  std::vector<DirItem> Step() {
    constexpr size_t kBuf = 4096;
    size_t max_items = plus_ ? kBuf / 150 + 1 : kBuf / 32 + 1;
    auto r = v_.ReadDir(Context{}, dir_, fh_, off_, max_items, plus_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    std::vector<DirItem> fit;
    size_t used = 0;
    for (DirItem& it : *r) {
      // fuse_dirent is 24 bytes + name, 8-aligned; direntplus adds a 128-byte entry_out.
      size_t n = ((plus_ ? 152 : 24) + it.name.size() + 7) / 8 * 8;
      if (used + n > kBuf) break;
      used += n;
      fit.push_back(std::move(it));
    }
    if (fit.empty()) return {};
    size_t take = fit.size();
    if (rng_() % 2 == 0) take = 1 + rng_() % fit.size();  // the reader's buffer filled up
    fit.resize(take);
    off_ = fit.back().offset;
    return fit;
  }

  // Every remaining item.
  std::vector<DirItem> Rest() {
    std::vector<DirItem> all;
    for (;;) {
      auto s = Step();
      if (s.empty()) return all;
      for (auto& it : s) all.push_back(std::move(it));
    }
  }

  uint64_t offset() const { return off_; }

 private:
  Volume& v_;
  Ino dir_;
  uint64_t fh_;
  bool plus_;
  std::mt19937 rng_;
  uint64_t off_ = 0;
};

std::vector<std::string> NamesOf(const std::vector<DirItem>& items) {
  std::vector<std::string> out;
  for (const auto& it : items) out.push_back(it.name);
  return out;
}

TEST_F(ReadDirTest, LargeDirectoryListsExactlyWithABoundedWindow) {
  const size_t kFiles = 25000;
  std::vector<std::string> names = Names(kFiles, "file-");
  Ino dir = MakeDir(names);
  std::vector<std::string> want = {".", ".."};
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());  // meta lists by name bytes
  want.insert(want.end(), sorted.begin(), sorted.end());

  for (bool plus : {false, true}) {
    SCOPED_TRACE(plus ? "readdirplus" : "readdir");
    auto fh = vol_->OpenDir(ctx_, dir);
    ASSERT_TRUE(fh.ok());
    KernelReader reader(*vol_, dir, *fh, plus, plus ? 7 : 3);
    std::vector<DirItem> got;
    size_t most = 0;
    for (;;) {
      auto s = reader.Step();
      if (s.empty()) break;
      for (auto& it : s) got.push_back(std::move(it));
      auto st = vol_->GetDirStats(*fh);
      ASSERT_TRUE(st.ok());
      most = std::max(most, st->window);
    }
    EXPECT_EQ(NamesOf(got), want);
    // Offsets are the items' positions, so a cookie names one item for the handle's life.
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i].offset, i + 1) << got[i].name;
    auto st = vol_->GetDirStats(*fh);
    ASSERT_TRUE(st.ok());
    EXPECT_LE(most, kMaxWindow);
    EXPECT_LE(st->max_window, kMaxWindow);
    EXPECT_GE(st->max_window, Volume::kDirPage);  // it did hold a full page
    // Each page fetched once: replies straddling a page boundary and consumed in part resumed
    // inside the window instead of re-listing from the start.
    EXPECT_LE(st->pages, kFiles / Volume::kDirPage + 1);
    if (plus) {
      for (size_t i = 2; i < got.size(); ++i) {
        ASSERT_TRUE(got[i].attr.has_value()) << got[i].name;
        EXPECT_EQ(got[i].attr->type, FileType::kRegular);
        EXPECT_EQ(got[i].attr->mode, 0640u);
      }
    }
    // Past the end stays the end.
    auto more = vol_->ReadDir(ctx_, dir, *fh, got.size(), 100, plus);
    ASSERT_TRUE(more.ok());
    EXPECT_TRUE(more->empty());
    ASSERT_TRUE(vol_->ReleaseDir(dir, *fh).ok());
  }
}

TEST_F(ReadDirTest, SeekInsideTheWindowIsFreeAndFarBackRelists) {
  const size_t kFiles = 3500;
  std::vector<std::string> names = Names(kFiles, "n");
  Ino dir = MakeDir(names);
  std::sort(names.begin(), names.end());
  auto fh = vol_->OpenDir(ctx_, dir);
  ASSERT_TRUE(fh.ok());

  // Read items 1..1700 (".", "..", then the first 1698 names): the window has moved on from
  // the first page.
  std::vector<DirItem> first;
  while (first.size() < 1700) {
    auto r = vol_->ReadDir(ctx_, dir, *fh, first.size(), 1700 - first.size(), false);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->empty());
    for (auto& it : *r) first.push_back(std::move(it));
  }
  ASSERT_EQ(first[2].name, names[0]);
  ASSERT_EQ(first[1699].name, names[1697]);
  auto before = vol_->GetDirStats(*fh);
  ASSERT_TRUE(before.ok());

  // telldir/seekdir within the window: the same items again, no metadata read.
  auto r = vol_->ReadDir(ctx_, dir, *fh, 1500, 3, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(NamesOf(*r), (std::vector<std::string>{names[1498], names[1499], names[1500]}));
  EXPECT_EQ((*r)[0].offset, 1501u);
  auto after = vol_->GetDirStats(*fh);
  EXPECT_EQ(after->pages, before->pages);

  // Far back, before the window: the listing restarts and skips forward, same answer.
  r = vol_->ReadDir(ctx_, dir, *fh, 10, 2, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(NamesOf(*r), (std::vector<std::string>{names[8], names[9]}));
  EXPECT_EQ((*r)[1].offset, 12u);
  // ... and continues from there to the end without duplicates.
  std::vector<std::string> rest;
  uint64_t off = 12;
  for (;;) {
    auto p = vol_->ReadDir(ctx_, dir, *fh, off, 129, false);
    ASSERT_TRUE(p.ok());
    if (p->empty()) break;
    for (auto& it : *p) rest.push_back(it.name);
    off = p->back().offset;
  }
  EXPECT_EQ(rest, std::vector<std::string>(names.begin() + 10, names.end()));

  // Forward past the window (seekdir to a cookie from earlier after a rewind elsewhere).
  r = vol_->ReadDir(ctx_, dir, *fh, 3000, 1, false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, names[2998]);
  auto st = vol_->GetDirStats(*fh);
  EXPECT_LE(st->max_window, kMaxWindow);
  ASSERT_TRUE(vol_->ReleaseDir(dir, *fh).ok());
}

TEST_F(ReadDirTest, RewindSeesTheDirectoryAsItIsNow) {
  std::vector<std::string> names = Names(1500, "r");
  Ino dir = MakeDir(names);
  auto fh = vol_->OpenDir(ctx_, dir);
  ASSERT_TRUE(fh.ok());
  KernelReader reader(*vol_, dir, *fh, false, 5);
  std::vector<std::string> part;
  while (part.size() < 1200) {
    auto s = reader.Step();
    ASSERT_FALSE(s.empty());
    for (auto& it : s) part.push_back(it.name);
  }
  // Changes on both sides of the current position.
  ASSERT_TRUE(vol_->Mknod(ctx_, dir, "a-new", FileType::kRegular, 0644, 0).ok());
  ASSERT_TRUE(vol_->Mknod(ctx_, dir, "z-new", FileType::kRegular, 0644, 0).ok());
  ASSERT_TRUE(vol_->Unlink(ctx_, dir, part[5]).ok());
  ASSERT_TRUE(vol_->Unlink(ctx_, dir, "r999").ok());

  std::set<std::string> want(names.begin(), names.end());
  want.insert({"a-new", "z-new", ".", ".."});
  want.erase(part[5]);
  want.erase("r999");
  // rewinddir: offset 0 lists everything as it is now, once each.
  std::vector<std::string> all;
  uint64_t off = 0;
  for (;;) {
    auto r = vol_->ReadDir(ctx_, dir, *fh, off, 129, true);
    ASSERT_TRUE(r.ok());
    if (r->empty()) break;
    for (auto& it : *r) all.push_back(it.name);
    off = r->back().offset;
  }
  EXPECT_EQ(all.size(), want.size());
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), want);
  EXPECT_EQ(all[0], ".");
  EXPECT_EQ(all[1], "..");
  EXPECT_EQ(all[2], "a-new");
  ASSERT_TRUE(vol_->ReleaseDir(dir, *fh).ok());
}

TEST_F(ReadDirTest, ChangesBehindAndAheadOfTheCursor) {
  // Deterministic interleaving: list past the first page, then change the directory behind
  // the position, inside the window ahead of it, and beyond the window.
  std::vector<std::string> names;
  for (int i = 0; i < 3000; ++i) {
    char buf[16];
    snprintf(buf, sizeof(buf), "e%05d", i * 2);  // even numbers; odd ones are free slots
    names.push_back(buf);
  }
  Ino dir = MakeDir(names);
  auto fh = vol_->OpenDir(ctx_, dir);
  ASSERT_TRUE(fh.ok());
  KernelReader reader(*vol_, dir, *fh, false, 9);
  std::vector<std::string> seen;
  while (seen.size() < 1300) {
    auto s = reader.Step();
    ASSERT_FALSE(s.empty());
    for (auto& it : s) seen.push_back(it.name);
  }
  std::string last = seen.back();
  // Behind: removing and adding there changes nothing still to come.
  ASSERT_TRUE(vol_->Unlink(ctx_, dir, "e00000").ok());
  ASSERT_TRUE(vol_->Mknod(ctx_, dir, "e00001", FileType::kRegular, 0644, 0).ok());
  // Far ahead, beyond the window: a new entry is seen, a removed one is not.
  ASSERT_TRUE(vol_->Mknod(ctx_, dir, "e05001", FileType::kRegular, 0644, 0).ok());
  ASSERT_TRUE(vol_->Unlink(ctx_, dir, "e05000").ok());
  std::vector<std::string> rest = NamesOf(reader.Rest());
  std::vector<std::string> all = seen;
  all.insert(all.end(), rest.begin(), rest.end());
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size()) << "an entry was listed twice";
  for (const auto& n : names) {
    if (n == "e00000" || n == "e05000") continue;
    EXPECT_TRUE(unique.count(n)) << n << " existed throughout but was not listed";
  }
  EXPECT_FALSE(unique.count("e00001"));  // created behind the position
  EXPECT_TRUE(unique.count("e05001"));   // created beyond the window
  EXPECT_FALSE(unique.count("e05000"));  // removed before the listing got there
  EXPECT_GT(rest.size(), 0u);
  EXPECT_LT(last, rest.front());
  ASSERT_TRUE(vol_->ReleaseDir(dir, *fh).ok());
}

TEST_F(ReadDirTest, ConcurrentCreatesAndUnlinksNeverDuplicateOrSkip) {
  std::vector<std::string> keep = Names(4000, "k");
  std::vector<std::string> doomed = Names(2000, "d");
  std::vector<std::string> initial = keep;
  initial.insert(initial.end(), doomed.begin(), doomed.end());
  Ino dir = MakeDir(initial);

  std::atomic<bool> stop{false};
  std::atomic<int> changes{0};
  // Another client of the same volume creates and unlinks while the listings run.
  std::thread mutator([&] {
    Context ctx;
    size_t i = 0;
    while (!stop.load() && i < doomed.size()) {
      EXPECT_TRUE(vol_->Mknod(ctx, dir, "n" + std::to_string(i), FileType::kRegular, 0644, 0).ok());
      EXPECT_TRUE(vol_->Unlink(ctx, dir, doomed[i]).ok());
      ++i;
      changes.fetch_add(1);
    }
  });
  std::set<std::string> ever(initial.begin(), initial.end());
  for (size_t i = 0; i < doomed.size(); ++i) ever.insert("n" + std::to_string(i));
  int rounds = 0;
  // At least two listings, and keep listing until the mutator has made some changes.
  while (rounds < 2 || (changes.load() < 50 && rounds < 50)) {
    ++rounds;
    auto fh = vol_->OpenDir(ctx_, dir);
    ASSERT_TRUE(fh.ok());
    KernelReader reader(*vol_, dir, *fh, rounds % 2 == 0, 100 + rounds);
    std::vector<std::string> got = NamesOf(reader.Rest());
    std::set<std::string> unique(got.begin(), got.end());
    EXPECT_EQ(unique.size(), got.size()) << "an entry was listed twice";
    for (const auto& n : keep) ASSERT_TRUE(unique.count(n)) << n << " was skipped";
    for (const auto& n : got) {
      if (n == "." || n == "..") continue;
      ASSERT_TRUE(ever.count(n)) << n << " never existed";
    }
    auto st = vol_->GetDirStats(*fh);
    EXPECT_LE(st->max_window, kMaxWindow);
    ASSERT_TRUE(vol_->ReleaseDir(dir, *fh).ok());
  }
  stop = true;
  mutator.join();
  EXPECT_GT(changes.load(), 0);
}

TEST_F(ReadDirTest, UnknownHandleAndNonDirectory) {
  EXPECT_EQ(vol_->ReadDir(ctx_, kRootIno, 999, 0, 10, false).status().code(), Code::kBadHandle);
  EXPECT_EQ(vol_->GetDirStats(999).status().code(), Code::kBadHandle);
  auto f = vol_->Mknod(ctx_, kRootIno, "f", FileType::kRegular, 0644, 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(vol_->OpenDir(ctx_, f->ino).status().code(), Code::kNotDir);
  // An empty directory lists "." and ".." only.
  auto d = vol_->Mkdir(ctx_, kRootIno, "empty", 0755);
  ASSERT_TRUE(d.ok());
  auto fh = vol_->OpenDir(ctx_, d->ino);
  ASSERT_TRUE(fh.ok());
  auto r = vol_->ReadDir(ctx_, d->ino, *fh, 0, 100, true);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].ino, kRootIno);  // ".." of a top-level directory
  EXPECT_TRUE(vol_->ReadDir(ctx_, d->ino, *fh, 2, 100, true)->empty());
  ASSERT_TRUE(vol_->ReleaseDir(d->ino, *fh).ok());
}

}  // namespace
}  // namespace strata::vfs
