#include "tests/meta/fixture.h"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace strata::meta::testing {
namespace {

// One redis-server per test process, started on first use and stopped by PID at exit.
Result<std::string> SharedRedisUrl() {
  static std::mutex mu;
  static std::unique_ptr<strata::testing::RedisServer> server;
  static Status failure;
  std::lock_guard<std::mutex> lock(mu);
  if (!server && failure.ok()) {
    auto s = strata::testing::RedisServer::Start();
    if (s.ok()) {
      server = std::move(*s);
    } else {
      failure = s.status();
    }
  }
  if (!server) return failure;
  return server->Url(0);
}

kv::KvRegistry& Registry() {
  static kv::KvRegistry registry = [] {
    kv::KvRegistry r;
    kv::RegisterMemKv(r);
    kv::RegisterSqliteKv(r);
    kv::RegisterRedisKv(r);
    return r;
  }();
  return registry;
}

std::string UniqueName() {
  static std::atomic<int> n{0};
  return "metatest-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace

std::vector<std::string> AllEngines() { return {"memkv", "memkv_conflicts", "sqlite", "redis"}; }

VolumeFormat MetaTest::DefaultFormat() const {
  VolumeFormat f;
  f.name = "conformance";
  f.storage_url = "mem://";
  f.trash_days = 0;  // trash has its own tests; here an unlink releases at once
  return f;
}

void MetaTest::SetUp() {
  const std::string& kind = GetParam();
  if (kind == "memkv") {
    url_ = "memkv://" + UniqueName();
  } else if (kind == "memkv_conflicts") {
    url_ = "memkv://" + UniqueName() + "?conflict_rate=0.3";
  } else if (kind == "sqlite") {
    temp_dir_ = strata::testing::MakeTempDir("meta-sqlite");
    url_ = "sqlite3://" + temp_dir_ + "/meta.db";
  } else if (kind == "redis") {
    auto u = SharedRedisUrl();
    if (!u.ok() && u.code() == Code::kNotFound) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    url_ = *u;
  } else {
    FAIL() << "unknown engine " << kind;
  }
  engine_ = OpenEngine();
  ASSERT_TRUE(engine_);
  ASSERT_TRUE(engine_->Clear().ok());
  Reformat(DefaultFormat());
}

void MetaTest::TearDown() {
  meta_.reset();
  engine_.reset();
  if (!temp_dir_.empty()) strata::testing::RemoveTree(temp_dir_);
}

std::shared_ptr<kv::KvEngine> MetaTest::OpenEngine() {
  auto e = Registry().Open(url_);
  EXPECT_TRUE(e.ok()) << url_ << ": " << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

std::unique_ptr<Meta> MetaTest::OpenClient(const MetaOptions& opts) {
  auto e = OpenEngine();
  if (!e) return nullptr;
  auto m = Meta::Open(e, opts);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(*m) : nullptr;
}

void MetaTest::Reformat(const VolumeFormat& f) {
  meta_.reset();
  ASSERT_TRUE(engine_->Clear().ok());
  Status s = Meta::Format(*engine_, f, /*force=*/false);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto m = Meta::Open(engine_, MetaOptions{});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  meta_ = std::move(*m);
}

Ino MetaTest::MustMkdir(Ino parent, const std::string& name, uint32_t mode, const Context& ctx) {
  auto e = meta_->Mkdir(ctx, parent, name, mode);
  EXPECT_TRUE(e.ok()) << "mkdir " << name << ": " << e.status().ToString();
  return e.ok() ? e->ino : 0;
}

Ino MetaTest::MustCreate(Ino parent, const std::string& name, uint32_t mode, const Context& ctx) {
  auto e = meta_->Mknod(ctx, parent, name, FileType::kRegular, mode, 0);
  EXPECT_TRUE(e.ok()) << "create " << name << ": " << e.status().ToString();
  return e.ok() ? e->ino : 0;
}

Attr MetaTest::MustGetAttr(Ino ino) {
  auto a = meta_->GetAttr(ino);
  EXPECT_TRUE(a.ok()) << "getattr " << ino << ": " << a.status().ToString();
  return a.ok() ? *a : Attr{};
}

std::vector<std::string> MetaTest::ListNames(Ino dir, size_t page) {
  std::vector<std::string> names;
  std::string cursor;
  for (int guard = 0; guard < 1000000; guard++) {
    auto p = meta_->Readdir(Root(), dir, cursor, page, false);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) break;
    for (auto& e : p->entries) names.push_back(e.name);
    cursor = p->next_cursor;
    if (p->eof) break;
  }
  return names;
}

}  // namespace strata::meta::testing
