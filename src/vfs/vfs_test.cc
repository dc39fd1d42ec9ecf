// Volume over memkv:// and mem:// (real engine and store, in memory): what a FUSE user would
// observe through the VFS — read-your-writes, append, O_TRUNC, readdir offsets, subdir
// mapping, read-only, unlink while open, close-to-open between two clients, strata.info.
#include "vfs/vfs.h"

#include <fcntl.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "vfs/test_client.h"

namespace strata::vfs {
namespace {

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = kv::MemKv::Open();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*e));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "test-uuid";
    f.storage_url = "mem://vfs-test";
    f.block_size = 64 << 10;  // small blocks: several per slice in these tests
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
  }

  testing::TestClient OpenVolume(VolumeOptions o = {}) {
    auto v = testing::OpenTestClient(engine_, o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(*v) : testing::TestClient();
  }

  std::shared_ptr<kv::KvEngine> engine_;
  Context ctx_;  // root
};

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 31);
  return s;
}

std::string ReadAll(Volume& v, Ino ino, uint64_t fh, size_t max = 1 << 24) {
  std::string out;
  EXPECT_TRUE(v.Read(Context{}, ino, fh, 0, max, &out).ok());
  return out;
}

TEST_F(VolumeTest, WriteIsVisibleBeforeAndAfterClose) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "f", 0644, O_RDWR);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Ino ino = c->entry.ino;
  std::string data = Pattern(200000, 'a');
  ASSERT_EQ(*v->Write(ctx_, ino, c->open.fh, 0, data), data.size());
  // Before close: getattr and read see the buffered bytes (read-your-writes).
  EXPECT_EQ(v->GetAttr(ctx_, ino)->length, data.size());
  EXPECT_EQ(ReadAll(*v, ino, c->open.fh), data);
  ASSERT_TRUE(v->Flush(ctx_, ino, c->open.fh, 1).ok());
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());

  auto o = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(ReadAll(*v, ino, o->fh), data);
  // A read at an offset inside the file, and one past the end.
  std::string part;
  ASSERT_TRUE(v->Read(ctx_, ino, o->fh, 100000, 10, &part).ok());
  EXPECT_EQ(part, data.substr(100000, 10));
  ASSERT_TRUE(v->Read(ctx_, ino, o->fh, data.size() + 5, 10, &part).ok());
  EXPECT_TRUE(part.empty());
  ASSERT_TRUE(v->Release(ino, o->fh).ok());
}

TEST_F(VolumeTest, AppendHandlesInterleave) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "log", 0644, O_WRONLY);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());
  auto a = v->OpenFile(ctx_, ino, O_WRONLY | O_APPEND);
  auto b = v->OpenFile(ctx_, ino, O_WRONLY | O_APPEND);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string expect;
  for (int i = 0; i < 20; ++i) {
    std::string line = (i % 2 ? "b" : "a") + std::to_string(i) + "\n";
    // The offset given is stale on purpose (0): appends go to the end regardless.
    ASSERT_TRUE(v->Write(ctx_, ino, i % 2 ? b->fh : a->fh, 0, line).ok());
    expect += line;
  }
  ASSERT_TRUE(v->Flush(ctx_, ino, a->fh, 1).ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, b->fh, 1).ok());
  ASSERT_TRUE(v->Release(ino, a->fh).ok());
  ASSERT_TRUE(v->Release(ino, b->fh).ok());
  auto r = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(*v, ino, r->fh), expect);
  ASSERT_TRUE(v->Release(ino, r->fh).ok());
}

TEST_F(VolumeTest, OpenWithTruncEmptiesTheFile) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "t", 0644, O_WRONLY);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  ASSERT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, Pattern(5000, 'x')).ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, c->open.fh, 1).ok());
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());
  auto o = v->OpenFile(ctx_, ino, O_RDWR | O_TRUNC);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->keep_cache);
  EXPECT_EQ(v->GetAttr(ctx_, ino)->length, 0u);
  EXPECT_EQ(ReadAll(*v, ino, o->fh), "");
  ASSERT_TRUE(v->Write(ctx_, ino, o->fh, 0, "new").ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, o->fh, 1).ok());
  EXPECT_EQ(ReadAll(*v, ino, o->fh), "new");
  ASSERT_TRUE(v->Release(ino, o->fh).ok());
}

TEST_F(VolumeTest, KeepCacheOnlyWhenUnchanged) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "k", 0644, O_WRONLY);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  v->AddRef(ino);  // the kernel's lookup reference: what it remembers survives closes
  ASSERT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, "abc").ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, c->open.fh, 1).ok());
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());
  auto o1 = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(o1.ok());
  ASSERT_TRUE(v->Release(ino, o1->fh).ok());
  auto o2 = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(o2.ok());
  EXPECT_TRUE(o2->keep_cache);  // nothing changed since o1
  ASSERT_TRUE(v->Release(ino, o2->fh).ok());
  auto w = v->OpenFile(ctx_, ino, O_WRONLY);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(v->Write(ctx_, ino, w->fh, 3, "def").ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, w->fh, 1).ok());
  ASSERT_TRUE(v->Release(ino, w->fh).ok());
  auto o3 = v->OpenFile(ctx_, ino, O_RDONLY);
  ASSERT_TRUE(o3.ok());
  EXPECT_FALSE(o3->keep_cache);  // length and mtime changed
  ASSERT_TRUE(v->Release(ino, o3->fh).ok());
}

TEST_F(VolumeTest, ReadDirOffsetsResumeWithoutDuplicates) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto d = v->Mkdir(ctx_, kRootIno, "dir", 0755);
  ASSERT_TRUE(d.ok());
  const int kFiles = 2500;  // more than one Meta page
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(
        v->Mknod(ctx_, d->ino, "f" + std::to_string(i), FileType::kRegular, 0644, 0).ok());
  }
  auto fh = v->OpenDir(ctx_, d->ino);
  ASSERT_TRUE(fh.ok());
  std::vector<std::string> names;
  uint64_t off = 0;
  for (;;) {
    auto items = v->ReadDir(ctx_, d->ino, *fh, off, 37, (off / 37) % 2 == 1);
    ASSERT_TRUE(items.ok()) << items.status().ToString();
    if (items->empty()) break;
    for (const DirItem& it : *items) {
      names.push_back(it.name);
      off = it.offset;
    }
  }
  ASSERT_EQ(names.size(), static_cast<size_t>(kFiles + 2));
  EXPECT_EQ(names[0], ".");
  EXPECT_EQ(names[1], "..");
  std::set<std::string> unique(names.begin() + 2, names.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kFiles));
  // Seeking back to a cookie handed out earlier gives the same entry again.
  auto again = v->ReadDir(ctx_, d->ino, *fh, 100, 1, false);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].name, names[100]);
  ASSERT_TRUE(v->ReleaseDir(d->ino, *fh).ok());
}

TEST_F(VolumeTest, SubdirIsTheRoot) {
  {
    auto v = OpenVolume();
    ASSERT_TRUE(v);
    auto a = v->Mkdir(ctx_, kRootIno, "a", 0755);
    ASSERT_TRUE(a.ok());
    auto b = v->Mkdir(ctx_, a->ino, "b", 0755);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(v->Mknod(ctx_, b->ino, "inside", FileType::kRegular, 0644, 0).ok());
  }
  VolumeOptions o;
  o.subdir = "a/b";
  auto v = OpenVolume(o);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->Lookup(ctx_, kRootIno, "inside").ok());
  auto up = v->Lookup(ctx_, kRootIno, "..");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->ino, kRootIno);  // nothing above the subdir is reachable
  EXPECT_EQ(v->Lookup(ctx_, kRootIno, "a").code(), Code::kNotFound);
  auto made = v->Mkdir(ctx_, kRootIno, "new", 0755);
  ASSERT_TRUE(made.ok());
  v.reset();
  auto whole = OpenVolume();
  auto a = whole->Lookup(ctx_, kRootIno, "a");
  auto b = whole->Lookup(ctx_, a->ino, "b");
  EXPECT_TRUE(whole->Lookup(ctx_, b->ino, "new").ok());

  VolumeOptions missing;
  missing.subdir = "nope";
  EXPECT_EQ(testing::OpenTestClient(engine_, missing).status().code(), Code::kNotFound);
}

TEST_F(VolumeTest, ReadOnlyRefusesChanges) {
  {
    auto v = OpenVolume();
    ASSERT_TRUE(v->Mknod(ctx_, kRootIno, "f", FileType::kRegular, 0644, 0).ok());
  }
  VolumeOptions o;
  o.read_only = true;
  auto v = OpenVolume(o);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->Mkdir(ctx_, kRootIno, "d", 0755).code(), Code::kReadOnly);
  auto f = v->Lookup(ctx_, kRootIno, "f");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(v->OpenFile(ctx_, f->ino, O_WRONLY).code(), Code::kReadOnly);
  auto r = v->OpenFile(ctx_, f->ino, O_RDONLY);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(v->Release(f->ino, r->fh).ok());
}

TEST_F(VolumeTest, UnlinkedOpenFileStaysReadable) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "gone", 0644, O_RDWR);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  std::string data = Pattern(70000, 'q');
  ASSERT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, data).ok());
  ASSERT_TRUE(v->Flush(ctx_, ino, c->open.fh, 1).ok());
  ASSERT_TRUE(v->Unlink(ctx_, kRootIno, "gone").ok());
  EXPECT_EQ(v->Lookup(ctx_, kRootIno, "gone").code(), Code::kNotFound);
  EXPECT_EQ(ReadAll(*v, ino, c->open.fh), data);
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());
}

TEST_F(VolumeTest, CloseToOpenBetweenTwoClients) {
  auto a = OpenVolume();
  auto b = OpenVolume();
  ASSERT_TRUE(a && b);
  auto c = a->Create(ctx_, kRootIno, "shared", 0644, O_WRONLY);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(a->Write(ctx_, c->entry.ino, c->open.fh, 0, "first").ok());
  ASSERT_TRUE(a->Flush(ctx_, c->entry.ino, c->open.fh, 1).ok());
  auto e = b->Lookup(ctx_, kRootIno, "shared");
  ASSERT_TRUE(e.ok());
  auto rb = b->OpenFile(ctx_, e->ino, O_RDONLY);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(ReadAll(*b, e->ino, rb->fh), "first");
  ASSERT_TRUE(b->Release(e->ino, rb->fh).ok());
  // Overwrite in a, close, reopen in b: b sees the new bytes.
  ASSERT_TRUE(a->Write(ctx_, c->entry.ino, c->open.fh, 0, "FIRST-second").ok());
  ASSERT_TRUE(a->Flush(ctx_, c->entry.ino, c->open.fh, 1).ok());
  ASSERT_TRUE(a->Release(c->entry.ino, c->open.fh).ok());
  rb = b->OpenFile(ctx_, e->ino, O_RDONLY);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(ReadAll(*b, e->ino, rb->fh), "FIRST-second");
  ASSERT_TRUE(b->Release(e->ino, rb->fh).ok());
}

TEST_F(VolumeTest, InfoXattrNamesTheObjects) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "i", 0644, O_WRONLY);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(v->Write(ctx_, c->entry.ino, c->open.fh, 0, Pattern(150000, 'i')).ok());
  ASSERT_TRUE(v->Flush(ctx_, c->entry.ino, c->open.fh, 1).ok());
  auto info = v->GetXattr(ctx_, c->entry.ino, "strata.info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_NE(info->find("\"length\": 150000"), std::string::npos) << *info;
  EXPECT_NE(info->find("vol/chunks/"), std::string::npos) << *info;
  EXPECT_EQ(v->SetXattr(ctx_, c->entry.ino, "strata.info", "x", 0).code(), Code::kNotPermitted);
  ASSERT_TRUE(v->Release(c->entry.ino, c->open.fh).ok());
}

TEST_F(VolumeTest, TruncateThroughSetAttrDropsPendingAndCachedData) {
  auto v = OpenVolume();
  ASSERT_TRUE(v);
  auto c = v->Create(ctx_, kRootIno, "tr", 0644, O_RDWR);
  ASSERT_TRUE(c.ok());
  Ino ino = c->entry.ino;
  std::string data = Pattern(100000, 't');
  ASSERT_TRUE(v->Write(ctx_, ino, c->open.fh, 0, data).ok());
  meta::SetAttrRequest req;
  req.mask = meta::kSetSize;
  req.size = 10;
  auto a = v->SetAttr(ctx_, ino, req);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->length, 10u);
  EXPECT_EQ(ReadAll(*v, ino, c->open.fh), data.substr(0, 10));
  req.size = 20;  // grow: the new bytes read as zeros
  ASSERT_TRUE(v->SetAttr(ctx_, ino, req).ok());
  EXPECT_EQ(ReadAll(*v, ino, c->open.fh), data.substr(0, 10) + std::string(10, '\0'));
  ASSERT_TRUE(v->Release(ino, c->open.fh).ok());
}

}  // namespace
}  // namespace strata::vfs
