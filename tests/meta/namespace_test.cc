// Conformance: format, lookup/getattr, create operations, links, unlink/rmdir, readdir.
#include <set>

#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class NamespaceTest : public MetaTest {};

TEST_P(NamespaceTest, FormatCreatesRootAndKeepsIdentityOnReformat) {
  Attr root = MustGetAttr(kRootIno);
  EXPECT_EQ(root.type, FileType::kDirectory);
  EXPECT_EQ(root.nlink, 2u);
  auto f = Meta::LoadFormat(engine());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->name, "conformance");
  EXPECT_FALSE(f->uuid.empty());
  const std::string uuid = f->uuid;

  VolumeFormat other = DefaultFormat();
  other.block_size = 1 << 20;
  EXPECT_EQ(Meta::Format(engine(), other, false).code(), Code::kAlreadyExists);
  other = DefaultFormat();
  other.name = "another";
  EXPECT_EQ(Meta::Format(engine(), other, false).code(), Code::kAlreadyExists);
  // Same values: allowed, changeable settings updated, identity and data kept.
  Ino d = MustMkdir(kRootIno, "keep");
  VolumeFormat same = DefaultFormat();
  same.trash_days = 5;
  ASSERT_TRUE(Meta::Format(engine(), same, false).ok());
  f = Meta::LoadFormat(engine());
  EXPECT_EQ(f->trash_days, 5);
  EXPECT_EQ(f->uuid, uuid);
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "keep")->ino, d);
  other.block_size = 1 << 20;
  ASSERT_TRUE(Meta::Format(engine(), other, true).ok());
  EXPECT_EQ(Meta::LoadFormat(engine())->block_size, 1u << 20);
}

TEST_P(NamespaceTest, OpenRefusesUnformattedEngineAndBadSettings) {
  ASSERT_TRUE(engine().Clear().ok());
  auto m = Meta::Open(shared_engine(), MetaOptions{});
  EXPECT_EQ(m.code(), Code::kNotFound);
  EXPECT_EQ(Meta::LoadFormat(engine()).code(), Code::kNotFound);
  VolumeFormat bad = DefaultFormat();
  bad.compression = "gzip";
  EXPECT_EQ(Meta::Format(engine(), bad, false).code(), Code::kInvalidArgument);
  EXPECT_EQ(Meta::LoadFormat(engine()).code(), Code::kNotFound);  // nothing written
}

TEST_P(NamespaceTest, UpdateFormatChangesOnlyChangeableSettings) {
  ASSERT_TRUE(meta().UpdateFormat([](VolumeFormat& f) {
    f.trash_days = 7;
    f.capacity_bytes = 1 << 30;
    return Status::OK();
  }).ok());
  auto f = Meta::LoadFormat(engine());
  EXPECT_EQ(f->trash_days, 7);
  EXPECT_EQ(f->capacity_bytes, 1u << 30);
  Status s = meta().UpdateFormat([](VolumeFormat& f) {
    f.block_size = 1 << 20;
    return Status::OK();
  });
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(Meta::LoadFormat(engine())->block_size, 4u << 20);
}

TEST_P(NamespaceTest, CreateLookupGetattrAgree) {
  auto e = meta().Mknod(User(1000, 100), kRootIno, "f", FileType::kRegular, 0640, 0);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NE(e->ino, kRootIno);
  EXPECT_EQ(e->attr.uid, 1000u);
  EXPECT_EQ(e->attr.gid, 100u);
  EXPECT_EQ(e->attr.mode, 0640u);
  EXPECT_EQ(e->attr.nlink, 1u);
  EXPECT_EQ(e->attr.parent, kRootIno);
  auto l = meta().Lookup(Root(), kRootIno, "f");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->ino, e->ino);
  EXPECT_EQ(l->attr.mode, 0640u);
  auto g = meta().GetAttr(e->ino);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->mtime, e->attr.mtime);
  // Parent times move with the create.
  Attr root = MustGetAttr(kRootIno);
  EXPECT_EQ(root.mtime, e->attr.mtime);
}

TEST_P(NamespaceTest, LookupDotAndDotDot) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(a, "b");
  EXPECT_EQ(meta().Lookup(Root(), b, ".")->ino, b);
  EXPECT_EQ(meta().Lookup(Root(), b, "..")->ino, a);
  EXPECT_EQ(meta().Lookup(Root(), a, "..")->ino, kRootIno);
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "..")->ino, kRootIno);
}

TEST_P(NamespaceTest, LookupErrors) {
  Ino f = MustCreate(kRootIno, "file");
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "missing").code(), Code::kNotFound);
  EXPECT_EQ(meta().Lookup(Root(), f, "x").code(), Code::kNotDir);
  EXPECT_EQ(meta().Lookup(Root(), 999999, "x").code(), Code::kNotFound);
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, std::string(256, 'n')).code(), Code::kNameTooLong);
  EXPECT_EQ(meta().GetAttr(999999).code(), Code::kNotFound);
  // Search permission on the directory is needed.
  Ino priv = MustMkdir(kRootIno, "priv", 0700);
  MustCreate(priv, "inside");
  EXPECT_EQ(meta().Lookup(User(1000, 1000), priv, "inside").code(), Code::kPermissionDenied);
  EXPECT_TRUE(meta().Lookup(Root(), priv, "inside").ok());
}

TEST_P(NamespaceTest, CreateErrors) {
  MustCreate(kRootIno, "x");
  Ino f = MustCreate(kRootIno, "file");
  EXPECT_EQ(meta().Mknod(Root(), kRootIno, "x", FileType::kRegular, 0644, 0).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(meta().Mkdir(Root(), kRootIno, "x", 0755).code(), Code::kAlreadyExists);
  EXPECT_EQ(meta().Mkdir(Root(), kRootIno, ".", 0755).code(), Code::kAlreadyExists);
  EXPECT_EQ(meta().Mkdir(Root(), f, "sub", 0755).code(), Code::kNotDir);
  EXPECT_EQ(meta().Mkdir(Root(), 424242, "sub", 0755).code(), Code::kNotFound);
  EXPECT_EQ(meta().Mkdir(Root(), kRootIno, std::string(256, 'a'), 0755).code(),
            Code::kNameTooLong);
  EXPECT_TRUE(meta().Mkdir(Root(), kRootIno, std::string(255, 'a'), 0755).ok());
  EXPECT_EQ(meta().Mkdir(Root(), kRootIno, "a/b", 0755).code(), Code::kInvalidArgument);
  Ino ro = MustMkdir(kRootIno, "ro", 0555);
  EXPECT_EQ(meta().Mknod(User(1000, 1000), ro, "n", FileType::kRegular, 0644, 0).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(meta().Mknod(Root(), ro, "n", FileType::kRegular, 0644, 0).ok());
}

TEST_P(NamespaceTest, MknodSpecialFilesKeepTypeAndRdev) {
  auto fifo = meta().Mknod(Root(), kRootIno, "fifo", FileType::kFifo, 0600, 0);
  auto sock = meta().Mknod(Root(), kRootIno, "sock", FileType::kSocket, 0600, 0);
  auto chr = meta().Mknod(Root(), kRootIno, "null", FileType::kCharDev, 0666, 0x0103);
  auto blk = meta().Mknod(Root(), kRootIno, "sda", FileType::kBlockDev, 0660, 0x0800);
  ASSERT_TRUE(fifo.ok() && sock.ok() && chr.ok() && blk.ok());
  EXPECT_EQ(MustGetAttr(fifo->ino).type, FileType::kFifo);
  EXPECT_EQ(MustGetAttr(sock->ino).type, FileType::kSocket);
  EXPECT_EQ(MustGetAttr(chr->ino).rdev, 0x0103u);
  EXPECT_EQ(MustGetAttr(blk->ino).rdev, 0x0800u);
  EXPECT_EQ(meta().Mknod(Root(), kRootIno, "d", FileType::kDirectory, 0755, 0).code(),
            Code::kInvalidArgument);
}

TEST_P(NamespaceTest, MkdirCountsLinks) {
  Ino a = MustMkdir(kRootIno, "a");
  EXPECT_EQ(MustGetAttr(a).nlink, 2u);
  EXPECT_EQ(MustGetAttr(kRootIno).nlink, 3u);
  MustMkdir(a, "b");
  MustMkdir(a, "c");
  MustCreate(a, "f");
  EXPECT_EQ(MustGetAttr(a).nlink, 4u);
  ASSERT_TRUE(meta().Rmdir(Root(), a, "b").ok());
  EXPECT_EQ(MustGetAttr(a).nlink, 3u);
}

TEST_P(NamespaceTest, SymlinkAndReadlink) {
  auto s = meta().Symlink(Root(), kRootIno, "ln", "../some/where");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->attr.type, FileType::kSymlink);
  EXPECT_EQ(s->attr.length, 13u);
  EXPECT_EQ(*meta().ReadLink(s->ino), "../some/where");
  Ino f = MustCreate(kRootIno, "f");
  EXPECT_EQ(meta().ReadLink(f).code(), Code::kInvalidArgument);
  EXPECT_EQ(meta().ReadLink(777777).code(), Code::kNotFound);
  EXPECT_EQ(meta().Symlink(Root(), kRootIno, "e", "").code(), Code::kNotFound);
  EXPECT_EQ(meta().Symlink(Root(), kRootIno, "long", std::string(5000, 'x')).code(),
            Code::kNameTooLong);
  EXPECT_EQ(meta().Symlink(Root(), kRootIno, "ln", "x").code(), Code::kAlreadyExists);
  ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "ln").ok());
  EXPECT_EQ(meta().ReadLink(s->ino).code(), Code::kNotFound);
}

TEST_P(NamespaceTest, HardLinksAcrossDirectories) {
  Ino a = MustMkdir(kRootIno, "a");
  Ino b = MustMkdir(kRootIno, "b");
  Ino f = MustCreate(a, "f");
  auto l = meta().Link(Root(), f, b, "g");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->attr.nlink, 2u);
  EXPECT_EQ(l->attr.parent, 0u);  // several parents: kept separately
  ASSERT_TRUE(meta().Link(Root(), f, a, "f2").ok());
  EXPECT_EQ(MustGetAttr(f).nlink, 3u);
  EXPECT_EQ(meta().Lookup(Root(), b, "g")->ino, f);
  EXPECT_EQ(meta().Link(Root(), f, b, "g").code(), Code::kAlreadyExists);
  EXPECT_EQ(meta().Link(Root(), a, b, "dirlink").code(), Code::kNotPermitted);
  EXPECT_EQ(meta().Link(Root(), f, f, "x").code(), Code::kNotDir);
  EXPECT_EQ(meta().Link(Root(), 888888, b, "x").code(), Code::kNotFound);

  ASSERT_TRUE(meta().Unlink(Root(), a, "f").ok());
  EXPECT_EQ(MustGetAttr(f).nlink, 2u);
  ASSERT_TRUE(meta().Unlink(Root(), a, "f2").ok());
  Attr left = MustGetAttr(f);
  EXPECT_EQ(left.nlink, 1u);
  EXPECT_EQ(left.parent, b);  // one link left: its directory is the parent again
  ASSERT_TRUE(meta().Unlink(Root(), b, "g").ok());
  EXPECT_EQ(meta().GetAttr(f).code(), Code::kNotFound);
}

TEST_P(NamespaceTest, UnlinkRules) {
  Ino d = MustMkdir(kRootIno, "d");
  Ino f = MustCreate(d, "f");
  EXPECT_EQ(meta().Unlink(Root(), d, "missing").code(), Code::kNotFound);
  EXPECT_EQ(meta().Unlink(Root(), kRootIno, "d").code(), Code::kIsDir);
  EXPECT_EQ(meta().Unlink(Root(), f, "x").code(), Code::kNotDir);
  EXPECT_EQ(meta().Unlink(User(1000, 1000), d, "f").code(), Code::kPermissionDenied);
  ASSERT_TRUE(meta().Unlink(Root(), d, "f").ok());
  EXPECT_EQ(meta().Lookup(Root(), d, "f").code(), Code::kNotFound);
  EXPECT_EQ(meta().GetAttr(f).code(), Code::kNotFound);
  EXPECT_EQ(meta().Unlink(Root(), d, "f").code(), Code::kNotFound);
}

TEST_P(NamespaceTest, RmdirRules) {
  Ino d = MustMkdir(kRootIno, "d");
  MustCreate(d, "f");
  MustCreate(kRootIno, "plain");
  EXPECT_EQ(meta().Rmdir(Root(), kRootIno, "d").code(), Code::kNotEmpty);
  EXPECT_EQ(meta().Rmdir(Root(), kRootIno, "plain").code(), Code::kNotDir);
  EXPECT_EQ(meta().Rmdir(Root(), kRootIno, "none").code(), Code::kNotFound);
  EXPECT_EQ(meta().Rmdir(Root(), d, ".").code(), Code::kInvalidArgument);
  EXPECT_EQ(meta().Rmdir(Root(), d, "..").code(), Code::kNotEmpty);
  ASSERT_TRUE(meta().Unlink(Root(), d, "f").ok());
  ASSERT_TRUE(meta().SetXattr(Root(), d, "user.k", "v", 0).ok());
  ASSERT_TRUE(meta().Rmdir(Root(), kRootIno, "d").ok());
  EXPECT_EQ(meta().GetAttr(d).code(), Code::kNotFound);
  EXPECT_EQ(meta().Lookup(Root(), kRootIno, "d").code(), Code::kNotFound);
  EXPECT_EQ(meta().GetXattr(Root(), d, "user.k").code(), Code::kNotFound);
  EXPECT_EQ(MustGetAttr(kRootIno).nlink, 2u);
  // A removed directory accepts no new entries.
  EXPECT_EQ(meta().Mknod(Root(), d, "x", FileType::kRegular, 0644, 0).code(), Code::kNotFound);
}

TEST_P(NamespaceTest, ReaddirPagesInNameOrderWithPlus) {
  Ino d = MustMkdir(kRootIno, "big");
  std::vector<std::string> want;
  for (int i = 0; i < 150; i++) {
    char n[16];
    std::snprintf(n, sizeof n, "e%04d", i);
    want.push_back(n);
    if (i % 10 == 0) {
      MustMkdir(d, n);
    } else {
      MustCreate(d, n);
    }
  }
  EXPECT_EQ(ListNames(d, 7), want);
  EXPECT_EQ(ListNames(d, 1000), want);
  auto p = meta().Readdir(Root(), d, "", 20, true);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->entries.size(), 20u);
  EXPECT_FALSE(p->eof);
  EXPECT_EQ(p->next_cursor, "e0019");
  for (const auto& e : p->entries) {
    ASSERT_TRUE(e.attr.has_value());
    EXPECT_EQ(e.attr->type, e.type);
    EXPECT_EQ(e.type, e.name == "e0000" || e.name == "e0010" ? FileType::kDirectory
                                                             : FileType::kRegular);
  }
  auto last = meta().Readdir(Root(), d, "e0149", 20, false);
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->entries.empty());
  EXPECT_TRUE(last->eof);
}

TEST_P(NamespaceTest, ReaddirCursorSurvivesConcurrentChanges) {
  Ino d = MustMkdir(kRootIno, "d");
  for (const char* n : {"a", "c", "e", "g", "i"}) MustCreate(d, n);
  auto p1 = meta().Readdir(Root(), d, "", 2, false);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->entries.size(), 2u);  // a, c
  // The cursor entry itself and one behind it go; entries ahead are added and removed.
  ASSERT_TRUE(meta().Unlink(Root(), d, "c").ok());
  ASSERT_TRUE(meta().Unlink(Root(), d, "a").ok());
  MustCreate(d, "b");  // behind the cursor: not seen
  MustCreate(d, "f");  // ahead: seen
  ASSERT_TRUE(meta().Unlink(Root(), d, "g").ok());
  std::vector<std::string> rest;
  std::string cursor = p1->next_cursor;
  while (true) {
    auto p = meta().Readdir(Root(), d, cursor, 2, false);
    ASSERT_TRUE(p.ok());
    for (auto& e : p->entries) rest.push_back(e.name);
    cursor = p->next_cursor;
    if (p->eof) break;
  }
  EXPECT_EQ(rest, (std::vector<std::string>{"e", "f", "i"}));
}

TEST_P(NamespaceTest, ReaddirErrors) {
  Ino f = MustCreate(kRootIno, "f");
  EXPECT_EQ(meta().Readdir(Root(), f, "", 10, false).code(), Code::kNotDir);
  EXPECT_EQ(meta().Readdir(Root(), 123456, "", 10, false).code(), Code::kNotFound);
  Ino d = MustMkdir(kRootIno, "noread", 0311);
  EXPECT_EQ(meta().Readdir(User(1000, 1000), d, "", 10, false).code(),
            Code::kPermissionDenied);
}

TEST_P(NamespaceTest, InodeIdsAreNeverReusedAcrossClients) {
  auto other = OpenClient();
  ASSERT_TRUE(other);
  std::set<Ino> seen;
  for (int i = 0; i < 20; i++) {
    auto a = meta().Mknod(Root(), kRootIno, "a" + std::to_string(i), FileType::kRegular, 0644, 0);
    auto b = other->Mknod(Root(), kRootIno, "b" + std::to_string(i), FileType::kRegular, 0644, 0);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_TRUE(seen.insert(a->ino).second);
    EXPECT_TRUE(seen.insert(b->ino).second);
    ASSERT_TRUE(meta().Unlink(Root(), kRootIno, "a" + std::to_string(i)).ok());
  }
  // A client opened later continues after every batch handed out so far.
  auto third = OpenClient();
  auto c = third->Mkdir(Root(), kRootIno, "c", 0755);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->ino, *seen.rbegin());
}

TEST_P(NamespaceTest, ReadOnlyClientRefusesMutations) {
  MetaOptions opts;
  opts.read_only = true;
  auto ro = OpenClient(opts);
  ASSERT_TRUE(ro);
  Ino f = MustCreate(kRootIno, "f");
  EXPECT_TRUE(ro->Lookup(Root(), kRootIno, "f").ok());
  EXPECT_EQ(ro->Mkdir(Root(), kRootIno, "d", 0755).code(), Code::kReadOnly);
  EXPECT_EQ(ro->Unlink(Root(), kRootIno, "f").code(), Code::kReadOnly);
  EXPECT_EQ(ro->Rename(Root(), kRootIno, "f", kRootIno, "g", 0).code(), Code::kReadOnly);
  EXPECT_EQ(ro->SetXattr(Root(), f, "user.a", "b", 0).code(), Code::kReadOnly);
  SetAttrRequest req;
  req.mask = kSetMode;
  req.mode = 0600;
  EXPECT_EQ(ro->SetAttr(Root(), f, req).code(), Code::kReadOnly);
}

}  // namespace
STRATA_META_INSTANTIATE(NamespaceTest);
}  // namespace strata::meta::testing
