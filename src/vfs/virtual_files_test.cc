// The access log ring and the virtual files, alone and through a Volume (memkv:// + mem://):
// what a reader sees, what is kept when nobody reads, and that nothing can change them.
#include "vfs/virtual_files.h"

#include <fcntl.h>

#include <algorithm>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/metrics_text.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "vfs/test_client.h"

namespace strata::vfs {
namespace {

AccessRecord Rec(std::string_view op, std::string_view args = "1") {
  AccessRecord r;
  r.uid = 1000;
  r.gid = 100;
  r.pid = 42;
  r.op = op;
  r.args = args;
  r.result = "OK";
  r.seconds = 0.000125;
  return r;
}

TEST(AccessLogTest, FormatsOneTabSeparatedLine) {
  // 2026-12-01T11:45:01.123456Z
  int64_t t = 1796125501LL * 1000000000LL + 123456789;
  AccessRecord r = Rec("lookup", "1,\"a\tb\"");
  r.result = "ENOENT";
  EXPECT_EQ(AccessLog::FormatLine(t, r),
            "2026-12-01T11:45:01.123456Z\t1000\t100\t42\tlookup\t1,\"a?b\"\tENOENT\t0.000125\n");
}

TEST(AccessLogTest, KeepsNothingWithoutAReader) {
  AccessLog log;
  EXPECT_FALSE(log.active());
  log.Append(Rec("getattr"));
  EXPECT_EQ(log.buffered(), 0u);
  uint64_t r = log.OpenReader();
  std::string out;
  ASSERT_TRUE(log.Read(r, 4096, &out, {}).ok());
  EXPECT_EQ(out.rfind("# strata accesslog v1", 0), 0u) << out;  // the header, not getattr
  log.Append(Rec("mkdir"));
  ASSERT_TRUE(log.Read(r, 4096, &out, {}).ok());
  EXPECT_NE(out.find("\tmkdir\t"), std::string::npos) << out;
  log.Append(Rec("rmdir"));
  EXPECT_EQ(log.buffered(), 2u);
  log.CloseReader(r);
  EXPECT_FALSE(log.active());
  EXPECT_EQ(log.buffered(), 0u);  // the last reader gone: everything dropped
  log.Append(Rec("unlink"));
  EXPECT_EQ(log.buffered(), 0u);
}

TEST(AccessLogTest, EachReaderGetsEveryLineAndASlowOneIsToldWhatItLost) {
  AccessLog log(nullptr, 16);
  uint64_t a = log.OpenReader(), b = log.OpenReader();
  std::string out;
  ASSERT_TRUE(log.Read(a, 4096, &out, {}).ok());  // headers
  ASSERT_TRUE(log.Read(b, 4096, &out, {}).ok());
  for (int i = 0; i < 10; ++i) log.Append(Rec("read", std::to_string(i)));
  ASSERT_TRUE(log.Read(a, 1 << 20, &out, {}).ok());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10);
  for (int i = 10; i < 40; ++i) log.Append(Rec("read", std::to_string(i)));
  // b read nothing yet: 40 lines were appended into a ring of 16.
  ASSERT_TRUE(log.Read(b, 1 << 20, &out, {}).ok());
  EXPECT_EQ(out, "# 24 lines dropped\n");
  ASSERT_TRUE(log.Read(b, 1 << 20, &out, {}).ok());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 16);
  EXPECT_NE(out.find("\t39\tOK"), std::string::npos) << out;
  // A small buffer gets whole lines only.
  log.Append(Rec("write_buf", "1,2"));
  log.Append(Rec("write_buf", "3,4"));
  std::string line = AccessLog::FormatLine(0, Rec("write_buf", "1,2"));
  ASSERT_TRUE(log.Read(b, line.size() + 5, &out, {}).ok());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  log.CloseReader(a);
  log.CloseReader(b);
}

TEST(AccessLogTest, AReadWaitsForALineAndGivesUpWhenInterrupted) {
  AccessLog log;
  uint64_t r = log.OpenReader();
  std::string out;
  ASSERT_TRUE(log.Read(r, 4096, &out, {}).ok());  // header
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.Append(Rec("fsync"));
  });
  ASSERT_TRUE(log.Read(r, 4096, &out, {}).ok());  // returns once the line is there
  EXPECT_NE(out.find("\tfsync\t"), std::string::npos);
  writer.join();
  Status s = log.Read(r, 4096, &out, [] { return true; }, std::chrono::milliseconds(1));
  EXPECT_TRUE(s.Is(Code::kInterrupted)) << s.ToString();
  log.Shutdown();
  EXPECT_TRUE(log.Read(r, 4096, &out, {}).Is(Code::kUnavailable));
  EXPECT_TRUE(log.Read(999, 4096, &out, {}).Is(Code::kBadHandle));
}

class VirtualVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = kv::MemKv::Open();
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*e));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "test-uuid";
    f.storage_url = "mem://virtual-files-test";
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
    auto v = testing::OpenTestClient(engine_);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vol_ = std::move(*v);
  }

  std::string ReadAll(Ino ino) {
    auto fh = vol_->OpenFile(ctx_, ino, O_RDONLY);
    EXPECT_TRUE(fh.ok()) << fh.status().ToString();
    EXPECT_TRUE(fh->direct_io);
    std::string all, part;
    for (uint64_t off = 0;; off += part.size()) {
      EXPECT_TRUE(vol_->Read(ctx_, ino, fh->fh, off, 100, &part).ok());
      if (part.empty()) break;
      all += part;
    }
    EXPECT_TRUE(vol_->Release(ino, fh->fh).ok());
    return all;
  }

  std::shared_ptr<kv::KvEngine> engine_;
  testing::TestClient vol_;
  Context ctx_;  // root
};

TEST_F(VirtualVolumeTest, FoundByNameAtTheRootOnlyAndNeverListed) {
  for (const char* name : {".stats", ".accesslog", ".config"}) {
    auto e = vol_->Lookup(ctx_, kRootIno, name);
    ASSERT_TRUE(e.ok()) << name;
    EXPECT_TRUE(IsVirtualIno(e->ino));
    EXPECT_EQ(e->attr.type, FileType::kRegular);
  }
  auto dir = vol_->Mkdir(ctx_, kRootIno, "d", 0755);
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(vol_->Lookup(ctx_, dir->ino, ".stats").status().Is(Code::kNotFound));
  auto fh = vol_->OpenDir(ctx_, kRootIno);
  ASSERT_TRUE(fh.ok());
  auto items = vol_->ReadDir(ctx_, kRootIno, *fh, 0, 100, true);
  ASSERT_TRUE(items.ok());
  std::set<std::string> names;
  for (const DirItem& i : *items) names.insert(i.name);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "d"}));
  ASSERT_TRUE(vol_->ReleaseDir(kRootIno, *fh).ok());
}

TEST_F(VirtualVolumeTest, StatsAndConfigReadBack) {
  auto made = vol_->Create(ctx_, kRootIno, "f", 0644, O_WRONLY);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(vol_->Release(made->entry.ino, made->open.fh).ok());
  std::string stats = ReadAll(kStatsIno);
  auto samples = ParseMetricsText(stats);
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  MetricsSnapshot m(*samples);
  EXPECT_TRUE(m.Has("strata_meta_transactions_total"));
  EXPECT_GE(m.Sum("strata_meta_transactions_total", {{"volume", "vol"}}), 1);
  std::string config = ReadAll(kConfigIno);
  EXPECT_NE(config.find("\"volume\": \"vol\""), std::string::npos) << config;
  EXPECT_GT(vol_->GetAttr(ctx_, kConfigIno)->length, 0u);
  EXPECT_EQ(vol_->GetAttr(ctx_, kAccessLogIno)->length, 0u);
}

TEST_F(VirtualVolumeTest, NothingChangesThem) {
  Context user;
  user.uid = 1000;
  user.gid = 1000;
  ASSERT_TRUE(vol_->Create(ctx_, kRootIno, "other", 0644, O_WRONLY).ok());
  for (Ino ino : {kStatsIno, kAccessLogIno, kConfigIno}) {
    SCOPED_TRACE(ino);
    for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC}) {
      EXPECT_TRUE(vol_->OpenFile(ctx_, ino, flags).status().Is(Code::kNotPermitted));
    }
    meta::SetAttrRequest chmod;
    chmod.mask = meta::kSetMode;
    chmod.mode = 0777;
    EXPECT_TRUE(vol_->SetAttr(ctx_, ino, chmod).status().Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->SetXattr(ctx_, ino, "user.a", "1", 0).Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->Link(ctx_, ino, kRootIno, "hard").status().Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->Write(ctx_, ino, 1, 0, "x").status().Is(Code::kBadHandle));
  }
  for (const char* name : {".stats", ".accesslog", ".config"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(vol_->Unlink(ctx_, kRootIno, name).Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->Rename(ctx_, kRootIno, name, kRootIno, "x", 0).Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->Rename(ctx_, kRootIno, "other", kRootIno, name, 0).Is(Code::kNotPermitted));
    EXPECT_TRUE(vol_->Create(ctx_, kRootIno, name, 0644, O_WRONLY).status().Is(Code::kAlreadyExists));
    EXPECT_TRUE(vol_->Mkdir(ctx_, kRootIno, name, 0755).status().Is(Code::kAlreadyExists));
    EXPECT_TRUE(vol_->Symlink(ctx_, kRootIno, name, "t").status().Is(Code::kAlreadyExists));
  }
  // The access log and the options are root's; the metrics are everyone's.
  EXPECT_TRUE(vol_->OpenFile(user, kAccessLogIno, O_RDONLY).status().Is(Code::kPermissionDenied));
  EXPECT_TRUE(vol_->OpenFile(user, kConfigIno, O_RDONLY).status().Is(Code::kPermissionDenied));
  auto s = vol_->OpenFile(user, kStatsIno, O_RDONLY);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(vol_->Release(kStatsIno, s->fh).ok());
}

TEST_F(VirtualVolumeTest, TheAccessLogIsFedThroughTheVolume) {
  AccessLog& log = vol_->virtual_files().access_log();
  auto fh = vol_->OpenFile(ctx_, kAccessLogIno, O_RDONLY);
  ASSERT_TRUE(fh.ok());
  EXPECT_TRUE(log.active());
  std::string out;
  ASSERT_TRUE(vol_->Read(ctx_, kAccessLogIno, fh->fh, 0, 4096, &out).ok());  // header
  log.Append(Rec("create", "1,\"x\""));
  ASSERT_TRUE(vol_->Read(ctx_, kAccessLogIno, fh->fh, 0, 4096, &out).ok());
  EXPECT_NE(out.find("\tcreate\t1,\"x\"\tOK\t"), std::string::npos) << out;
  ASSERT_TRUE(vol_->Release(kAccessLogIno, fh->fh).ok());
  EXPECT_FALSE(log.active());
}

}  // namespace
}  // namespace strata::vfs
