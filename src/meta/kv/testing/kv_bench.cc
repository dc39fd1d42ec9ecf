// strata_kv_bench: transactions per second of each KV engine (memkv, SQLite in a temporary
// directory, Redis on a redis-server it starts on a loopback port, etcd with one and three
// members, PostgreSQL 15, each started on loopback ports). Not a test: it prints a
// Markdown table for bench/RESULTS.md. Usage: strata_kv_bench [ops_per_case]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/kv/kv.h"
#include "meta/kv/etcd/etcd_kv.h"
#include "meta/kv/mem_kv.h"
#include "meta/kv/postgres/postgres_kv.h"
#include "meta/kv/redis/redis_kv.h"
#include "meta/kv/sqlite/sqlite_kv.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace strata::kv {
namespace {

// Runs `ops` transactions spread over `threads` threads; returns transactions per second.
double Measure(KvEngine& kv, int threads, int ops, bool read_only,
               const std::function<Status(Transaction&, int thread, int i)>& fn) {
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < ops / threads; i++) {
        Status s = RunTxn(
            kv, [&](Transaction& txn) { return fn(txn, t, i); },
            TxnOptions{.read_only = read_only});
        if (!s.ok()) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failures) std::fprintf(stderr, "%d transactions failed\n", failures.load());
  return ops / secs;
}

std::string Key(int t, int i) {
  return "bench/" + std::to_string(t) + "/" + std::to_string(i % 100);
}

void Row(const std::string& name, KvEngine& kv, int ops) {
  auto rmw = [](Transaction& txn, int t, int i) {
    ASSIGN_OR_RETURN(auto v, txn.Get(Key(t, i)));
    txn.Put(Key(t, i), std::string(100, 'v'));
    return Status::OK();
  };
  auto get = [](Transaction& txn, int t, int i) { return txn.Get(Key(t, i)).status(); };
  auto hot = [](Transaction& txn, int, int) {
    ASSIGN_OR_RETURN(auto v, txn.Get("hot"));
    txn.Put("hot", std::to_string(v ? std::stoll(*v) + 1 : 1));
    return Status::OK();
  };
  auto scan = [](Transaction& txn, int t, int) {
    return txn.Scan("bench/" + std::to_string(t) + "/", "bench/" + std::to_string(t) + "0", 100)
        .status();
  };
  double a = Measure(kv, 1, ops, false, rmw);
  double b = Measure(kv, 1, ops, true, get);
  double c = Measure(kv, 1, ops / 4, true, scan);
  double d4 = Measure(kv, 4, ops, false, rmw);
  double d = Measure(kv, 8, ops, false, rmw);
  double e = Measure(kv, 8, ops / 2, false, hot);
  std::printf("| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", name.c_str(), a, b, c, d4, d,
              e);
}

int Main(int argc, char** argv) {
  int ops = argc > 1 ? std::atoi(argv[1]) : 4000;
  std::printf(
      "| engine | get+put txn/s (1 thread) | get txn/s (1 thread) | scan 100 txn/s "
      "(1 thread) | get+put txn/s (4 threads, own keys) | get+put txn/s (8 threads, own keys) | "
      "increment txn/s (8 threads, one hot key) |\n|---|---|---|---|---|---|---|\n");
  auto mem = MemKv::Open();
  if (mem.ok()) Row("memkv", **mem, ops);
  std::string dir = strata::testing::MakeTempDir("strata-kv-bench");
  auto sqlite = SqliteKv::Open(dir + "/meta.db");
  if (sqlite.ok()) {
    Row("sqlite3 (synchronous=NORMAL)", **sqlite, ops);
  } else {
    std::fprintf(stderr, "sqlite: %s\n", sqlite.status().ToString().c_str());
  }
  auto server = strata::testing::RedisServer::Start();
  if (server.ok()) {
    auto redis = RedisKv::OpenUrl((*server)->Url());
    if (redis.ok()) Row("redis (loopback)", **redis, ops);
  } else {
    std::fprintf(stderr, "redis: %s\n", server.status().ToString().c_str());
  }
  // etcd: one member, and three members on loopback (every commit through Raft to a quorum).
  for (int members : {1, 3}) {
    auto cluster = strata::testing::EtcdCluster::Start(members, {}, /*on_tmpfs=*/false);
    if (!cluster.ok()) {
      std::fprintf(stderr, "etcd: %s\n", cluster.status().ToString().c_str());
      break;
    }
    auto etcd = EtcdKv::OpenUrl((*cluster)->Url("bench"));
    if (etcd.ok()) {
      Row("etcd 3.4, " + std::to_string(members) + " member" + (members > 1 ? "s" : "") +
              " (loopback, JSON gateway)",
          **etcd, ops);
    } else {
      std::fprintf(stderr, "etcd: %s\n", etcd.status().ToString().c_str());
    }
  }
  auto pg = strata::testing::PostgresServer::Start();
  if (pg.ok()) {
    auto kv = PostgresKv::OpenUrl((*pg)->Url());
    if (kv.ok()) Row("postgres 15 (loopback, fsync=off)", **kv, ops);
    else std::fprintf(stderr, "postgres: %s\n", kv.status().ToString().c_str());
  } else {
    std::fprintf(stderr, "postgres: %s\n", pg.status().ToString().c_str());
  }
  strata::testing::RemoveTree(dir);
  return 0;
}

}  // namespace
}  // namespace strata::kv

int main(int argc, char** argv) { return strata::kv::Main(argc, argv); }
