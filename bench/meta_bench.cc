// strata_meta_bench: metadata micro-benchmark, per engine. Measures create (Mknod), lookup,
// getattr, rename and unlink through the Meta API (the same code path FUSE uses), with T
// threads each working in its own directory, and prints ops/s with p50/p99 latency.
//
//   strata_meta_bench [--ops N] [--threads T] [--limits none|volume|quota] [ENGINE_URL...]
// --limits volume formats with a (large) capacity and inode limit; --limits quota puts the
// threads' directories below one directory with a (large) quota, so every operation is
// charged to one shared quota record (meta/quota_kv.h).
// Without URLs it runs memkv://, a temporary sqlite3:// file, and a redis-server it starts on
// a free loopback port (skipped when redis-server is not installed), a three-member etcd
// cluster and a PostgreSQL 15 (fsync=off), each started on loopback ports when installed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "meta/kv/kv.h"
#include "meta/meta.h"
#include "meta/quota.h"
#include "tests/support/process.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/postgres_server.h"
#include "tests/support/redis_server.h"

namespace strata {
namespace {

using Clock = std::chrono::steady_clock;

struct OpStats {
  std::vector<double> lat_us;
  double seconds = 0;
};

void Print(const std::string& engine, const std::string& op, OpStats& s) {
  std::sort(s.lat_us.begin(), s.lat_us.end());
  auto pct = [&](double p) {
    if (s.lat_us.empty()) return 0.0;
    return s.lat_us[std::min(s.lat_us.size() - 1, static_cast<size_t>(p * s.lat_us.size()))];
  };
  std::printf("| %-22s | %-8s | %8zu | %10.0f | %8.1f | %8.1f |\n", engine.c_str(), op.c_str(),
              s.lat_us.size(), s.lat_us.size() / s.seconds, pct(0.5), pct(0.99));
}

// Runs fn(thread, i) for i in [0, ops) on each of `threads` threads; one latency per call.
template <typename F>
Status Phase(int threads, int ops, OpStats* out, F fn) {
  std::vector<std::vector<double>> lat(threads);
  std::vector<Status> errs(threads);
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&, t] {
      lat[t].reserve(ops);
      for (int i = 0; i < ops; i++) {
        auto t0 = Clock::now();
        Status st = fn(t, i);
        lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!st.ok()) {
          errs[t] = st;
          return;
        }
      }
    });
  }
  for (auto& th : ts) th.join();
  out->seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& v : lat) out->lat_us.insert(out->lat_us.end(), v.begin(), v.end());
  for (auto& e : errs) RETURN_IF_ERROR(e);
  return Status::OK();
}

Status RunEngine(const kv::KvRegistry& registry, const std::string& url, const std::string& label,
                 int ops, int threads, const std::string& limits) {
  ASSIGN_OR_RETURN(auto engine, registry.Open(url));
  RETURN_IF_ERROR(engine->Clear());
  meta::VolumeFormat fmt;
  fmt.name = "bench";
  fmt.uuid = "bench-uuid";
  fmt.storage_url = "mem://bench";
  fmt.trash_days = 0;
  if (limits == "volume") {
    fmt.capacity_bytes = 1ULL << 50;
    fmt.max_inodes = 1ULL << 40;
  }
  RETURN_IF_ERROR(meta::Meta::Format(*engine, fmt, true));
  meta::MetaOptions mo;
  mo.background_jobs = false;
  ASSIGN_OR_RETURN(auto m, meta::Meta::Open(engine, mo));
  meta::Context ctx;  // root
  std::vector<meta::Ino> dirs(threads);
  meta::Ino top = meta::kRootIno;
  if (limits == "quota") {
    ASSIGN_OR_RETURN(auto q, m->Mkdir(ctx, meta::kRootIno, "q", 0755));
    top = q.ino;
    RETURN_IF_ERROR(meta::quota::Set(*m, "/q", 1ULL << 50, 1ULL << 40).status());
  }
  for (int t = 0; t < threads; t++) {
    ASSIGN_OR_RETURN(auto e, m->Mkdir(ctx, top, "d" + std::to_string(t), 0755));
    dirs[t] = e.ino;
  }
  std::vector<std::vector<meta::Ino>> inos(threads, std::vector<meta::Ino>(ops));
  auto name = [](const char* p, int i) { return std::string(p) + std::to_string(i); };

  OpStats create, lookup, getattr, rename, unlink;
  RETURN_IF_ERROR(Phase(threads, ops, &create, [&](int t, int i) -> Status {
    ASSIGN_OR_RETURN(auto e, m->Mknod(ctx, dirs[t], name("f", i), meta::FileType::kRegular,
                                      0644, 0));
    inos[t][i] = e.ino;
    return Status::OK();
  }));
  RETURN_IF_ERROR(Phase(threads, ops, &lookup, [&](int t, int i) -> Status {
    return m->Lookup(ctx, dirs[t], name("f", i)).status();
  }));
  RETURN_IF_ERROR(Phase(threads, ops, &getattr, [&](int t, int i) -> Status {
    return m->GetAttr(inos[t][i]).status();
  }));
  RETURN_IF_ERROR(Phase(threads, ops, &rename, [&](int t, int i) -> Status {
    return m->Rename(ctx, dirs[t], name("f", i), dirs[t], name("g", i), 0);
  }));
  RETURN_IF_ERROR(Phase(threads, ops, &unlink, [&](int t, int i) -> Status {
    return m->Unlink(ctx, dirs[t], name("g", i));
  }));
  Print(label, "create", create);
  Print(label, "lookup", lookup);
  Print(label, "getattr", getattr);
  Print(label, "rename", rename);
  Print(label, "unlink", unlink);
  std::fflush(stdout);
  return Status::OK();
}

}  // namespace
}  // namespace strata

int main(int argc, char** argv) {
  using namespace strata;
  int ops = 2000, threads = 1;
  std::string limits = "none";
  std::vector<std::string> urls;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--ops" && i + 1 < argc) {
      ops = std::atoi(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--limits" && i + 1 < argc) {
      limits = argv[++i];
      if (limits != "none" && limits != "volume" && limits != "quota") {
        std::fprintf(stderr, "strata_meta_bench: --limits takes none, volume or quota\n");
        return 2;
      }
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "strata_meta_bench: unknown flag %s\n", a.c_str());
      return 2;
    } else {
      urls.push_back(a);
    }
  }
  if (ops <= 0 || threads <= 0) {
    std::fprintf(stderr, "strata_meta_bench: --ops and --threads must be positive\n");
    return 2;
  }
  kv::KvRegistry registry;
  kv::RegisterMemKv(registry);
  kv::RegisterSqliteKv(registry);
  kv::RegisterRedisKv(registry);
  kv::RegisterEtcdKv(registry);
  kv::RegisterPostgresKv(registry);

  std::unique_ptr<testing::RedisServer> redis;
  std::unique_ptr<testing::EtcdCluster> etcd;
  std::unique_ptr<testing::PostgresServer> pg;
  std::string tmp;
  if (urls.empty()) {
    tmp = testing::MakeTempDir("strata-meta-bench");
    urls = {"memkv://", "sqlite3://" + tmp + "/meta.db"};
    auto r = testing::RedisServer::Start();
    if (r.ok()) {
      redis = std::move(*r);
      urls.push_back(redis->Url());
    } else {
      std::fprintf(stderr, "redis skipped: %s\n", r.status().ToString().c_str());
    }
    // Three etcd members with their data on disk (every commit is a Raft round and fsyncs).
    auto e = testing::EtcdCluster::Start(3, {}, /*on_tmpfs=*/false);
    if (e.ok()) {
      etcd = std::move(*e);
      urls.push_back(etcd->Url("bench"));
    } else {
      std::fprintf(stderr, "etcd skipped: %s\n", e.status().ToString().c_str());
    }
    auto p = testing::PostgresServer::Start();
    if (p.ok()) {
      pg = std::move(*p);
      urls.push_back(pg->Url());
    } else {
      std::fprintf(stderr, "postgres skipped: %s\n", p.status().ToString().c_str());
    }
  }
  std::printf("ops per thread: %d, threads: %d, limits: %s\n\n", ops, threads, limits.c_str());
  std::printf("| %-22s | %-8s | %8s | %10s | %8s | %8s |\n", "engine", "op", "count", "ops/s",
              "p50 us", "p99 us");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(24, '-').c_str(),
              std::string(10, '-').c_str(), std::string(10, '-').c_str(),
              std::string(12, '-').c_str(), std::string(10, '-').c_str(),
              std::string(10, '-').c_str());
  int rc = 0;
  for (const auto& url : urls) {
    std::string label = url.substr(0, url.find("://"));
    Status st = RunEngine(registry, url, label, ops, threads, limits);
    if (!st.ok()) {
      std::fprintf(stderr, "strata_meta_bench: %s: %s\n", label.c_str(), st.ToString().c_str());
      rc = 1;
    }
  }
  if (!tmp.empty()) testing::RemoveTree(tmp);
  return rc;
}
