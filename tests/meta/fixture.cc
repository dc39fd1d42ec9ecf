#include "tests/meta/fixture.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "common/bytes.h"
#include "meta/schema.h"

#include "tests/support/process.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/postgres_server.h"
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

// One single-member etcd and one PostgreSQL per test process, started on first use and
// stopped at exit; like Redis, every test clears and reformats the same prefix / database.
Result<std::string> SharedEtcdUrl(const std::string& prefix) {
  static std::mutex mu;
  static std::unique_ptr<strata::testing::EtcdCluster> cluster;
  static Status failure;
  std::lock_guard<std::mutex> lock(mu);
  if (!cluster && failure.ok()) {
    auto c = strata::testing::EtcdCluster::Start(1);
    if (c.ok()) {
      cluster = std::move(*c);
    } else {
      failure = c.status();
    }
  }
  if (!cluster) return failure;
  return cluster->Url(prefix);
}

Result<std::string> SharedPostgresUrl(const std::string& db) {
  static std::mutex mu;
  static std::unique_ptr<strata::testing::PostgresServer> server;
  static Status failure;
  std::lock_guard<std::mutex> lock(mu);
  if (!server && failure.ok()) {
    auto s = strata::testing::PostgresServer::Start();
    if (s.ok()) {
      server = std::move(*s);
    } else {
      failure = s.status();
    }
  }
  if (!server) return failure;
  return server->Url(db);
}

kv::KvRegistry& Registry() {
  static kv::KvRegistry registry = [] {
    kv::KvRegistry r;
    kv::RegisterMemKv(r);
    kv::RegisterSqliteKv(r);
    kv::RegisterRedisKv(r);
    kv::RegisterEtcdKv(r);
    kv::RegisterPostgresKv(r);
    return r;
  }();
  return registry;
}

std::string UniqueName() {
  static std::atomic<int> n{0};
  return "metatest-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

}  // namespace

std::vector<std::string> AllEngines() {
  return {"memkv", "memkv_conflicts", "sqlite", "redis", "etcd", "postgres"};
}

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
  } else if (kind == "etcd" || kind == "postgres") {
    auto u = kind == "etcd" ? SharedEtcdUrl("meta") : SharedPostgresUrl("postgres");
    if (!u.ok() && u.code() == Code::kNotFound) GTEST_SKIP() << kind << " not installed";
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

namespace strata::meta::testing {

void MetaTest::ExpectConsistent(const std::vector<Ino>& allowed_orphans) {
  struct Node {
    std::optional<Attr> attr;
    int entries = 0;                  // entries pointing at it
    std::map<Ino, uint32_t> parents;  // directory -> links from it
    std::map<Ino, uint32_t> parent_records;
    int subdirs = 0;  // for directories: entries of type directory inside
    int children = 0;
    bool has_usage = false;
    DirUsage usage;
  };
  std::map<Ino, Node> nodes;
  int64_t used_inodes = 0;
  Status s = kv::RunTxn(engine(), [&](kv::Transaction& txn) -> Status {
    nodes.clear();
    used_inodes = 0;
    std::string begin;
    while (true) {
      ASSIGN_OR_RETURN(auto kvs, txn.Scan(begin, "", 1000));
      for (const auto& kv : kvs) {
        const std::string& k = kv.key;
        if (k[0] == 'A' && k.size() >= 10) {
          const Ino ino = GetU64BE(k.data() + 1);
          const char sub = k[9];
          if (sub == 'I' && k.size() == 10) {
            ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(kv.value));
            nodes[ino].attr = a;
          } else if (sub == 'D') {
            FileType t;
            Ino child;
            RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &t, &child));
            nodes[child].entries++;
            nodes[child].parents[ino]++;
            nodes[ino].children++;
            if (t == FileType::kDirectory) nodes[ino].subdirs++;
          } else if (sub == 'P' && k.size() == 18) {
            nodes[ino].parent_records[GetU64BE(k.data() + 10)] = GetU32BE(kv.value.data());
          }
        } else if (k[0] == 'U' && k.size() == 9) {
          Node& n = nodes[GetU64BE(k.data() + 1)];
          n.has_usage = true;
          n.usage.bytes = schema::DecodeI64(kv.value.substr(0, 8));
          n.usage.inodes = schema::DecodeI64(kv.value.substr(8, 8));
        } else if (k == schema::CounterKey("usedInodes") ||
                   k.starts_with(schema::CounterKey("usedInodes/"))) {
          used_inodes += schema::DecodeI64(kv.value);  // the shards and the unsharded key
        }
      }
      if (kvs.size() < 1000) break;
      begin = kvs.back().key + std::string(1, '\0');
    }
    return Status::OK();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();

  int64_t inodes = 0;
  for (const auto& [ino, n] : nodes) {
    if (!n.attr) {
      if (n.entries > 0) ADD_FAILURE() << "entry points at missing inode " << ino;
      if (n.children > 0) ADD_FAILURE() << "entries inside missing directory " << ino;
      continue;
    }
    const Attr& a = *n.attr;
    if (ino >= kTrashIno) continue;  // the trash keeps its own books
    if (ino != kRootIno) inodes++;
    const bool orphan_ok = std::find(allowed_orphans.begin(), allowed_orphans.end(), ino) !=
                           allowed_orphans.end();
    if (ino != kRootIno && n.entries == 0 && !orphan_ok) {
      ADD_FAILURE() << "inode " << ino << " has no directory entry (orphan)";
    }
    if (a.type == FileType::kDirectory) {
      if (ino != kRootIno && n.entries > 1) ADD_FAILURE() << "directory " << ino << " linked twice";
      if (a.nlink != static_cast<uint32_t>(2 + n.subdirs)) {
        ADD_FAILURE() << "directory " << ino << " nlink " << a.nlink << " but " << n.subdirs
                      << " subdirectories";
      }
      if (ino != kRootIno && n.entries == 1 && n.parents.begin()->first != a.parent) {
        ADD_FAILURE() << "directory " << ino << " parent " << a.parent << " but entry in "
                      << n.parents.begin()->first;
      }
      if (n.usage.inodes != n.children) {
        ADD_FAILURE() << "directory " << ino << " usage says " << n.usage.inodes
                      << " inodes, has " << n.children << " entries";
      }
    } else if (n.entries > 0) {
      if (a.nlink != static_cast<uint32_t>(n.entries)) {
        ADD_FAILURE() << "inode " << ino << " nlink " << a.nlink << " but " << n.entries
                      << " entries";
      } else if (a.nlink == 1) {
        if (a.parent != n.parents.begin()->first) {
          ADD_FAILURE() << "inode " << ino << " parent " << a.parent << " but entry in "
                        << n.parents.begin()->first;
        }
        if (!n.parent_records.empty()) ADD_FAILURE() << "inode " << ino << " stale parent records";
      } else if (a.parent != 0 || n.parent_records != n.parents) {
        ADD_FAILURE() << "hard-linked inode " << ino << " parent records disagree with entries";
      }
    }
  }
  // Every directory reachable from the root: walk down and count.
  std::map<Ino, std::vector<Ino>> subdirs_of;
  for (const auto& [ino, n] : nodes) {
    if (n.attr && n.attr->type == FileType::kDirectory && ino != kRootIno && ino < kTrashIno) {
      subdirs_of[n.attr->parent].push_back(ino);
    }
  }
  std::vector<Ino> stack = {kRootIno};
  std::set<Ino> reached;
  while (!stack.empty()) {
    Ino d = stack.back();
    stack.pop_back();
    if (!reached.insert(d).second) continue;
    for (Ino c : subdirs_of[d]) stack.push_back(c);
  }
  for (const auto& [parent, kids] : subdirs_of) {
    for (Ino c : kids) {
      if (!reached.count(c)) ADD_FAILURE() << "directory " << c << " unreachable from the root";
    }
  }
  EXPECT_EQ(used_inodes, inodes) << "volume usedInodes counters (sum of the shards)";
}

}  // namespace strata::meta::testing
