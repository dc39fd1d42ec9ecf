// strata objbench STORAGE_URL: measures an object store the way the data path uses it —
// put/get/head/list/delete of small objects (default 4 KiB) and put/get/delete of large ones
// (default 4 MiB, one block) with N threads — and prints ops/s, MiB/s and p50/p99 latency,
// like `juicefs objbench`. Objects go under a fresh "__strata_objbench_*/" prefix that is
// removed at the end, also after a failure.
//
// The store is measured as the data path sees it: behind RetryStore, so a transient error
// (S3 503 SlowDown or 500 InternalError) is retried rather than ending the run; the number of
// retries is printed under the table.
//
// Progress goes to stderr through common/progress.h (a redrawn bar on a terminal, a plain line
// every 10 s otherwise, and a final line per phase: "objbench put small: ops N/N ..."); the
// table goes to stdout. Any failed operation ends the run with a one-line error and exit 1.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "common/progress.h"
#include "common/units.h"
#include "object/registry.h"
#include "object/retry_store.h"

namespace strata::cli {

namespace {

using object::ObjectStore;
using Clock = std::chrono::steady_clock;

struct ObjbenchOptions {
  std::string url;
  int threads = 4;
  std::string small_size = "4K";
  std::string big_size = "4M";
  int count = 100;    // small objects
  int big_count = 8;  // large objects
  object::StoreOptions store;
};

std::string HumanSize(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) {
    std::snprintf(buf, sizeof(buf), "%llu MiB", static_cast<unsigned long long>(bytes >> 20));
  } else if (bytes >= 1024 && bytes % 1024 == 0) {
    std::snprintf(buf, sizeof(buf), "%llu KiB", static_cast<unsigned long long>(bytes >> 10));
  } else {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

struct PhaseResult {
  std::string name;
  int count = 0;
  double seconds = 0;
  uint64_t bytes = 0;
  std::vector<double> latencies_ms;  // sorted
};

// Runs op(i) for i in [0, count) on `threads` threads, timing each call. Stops at the first
// error, which it returns.
Result<PhaseResult> RunPhase(const std::string& name, int count, int threads, uint64_t bytes_per_op,
                             const std::function<Status(int)>& op) {
  // The shared progress display (common/progress.h): a redrawn bar on a terminal, a plain
  // line now and then otherwise, and one final line per phase either way.
  Progress progress("objbench " + name, {});
  Progress::Counter* ops = progress.AddCounter("ops", Progress::Unit::kCount,
                                               static_cast<uint64_t>(count));
  Progress::Counter* moved =
      bytes_per_op > 0 ? progress.AddCounter("bytes", Progress::Unit::kBytes,
                                             bytes_per_op * static_cast<uint64_t>(count))
                       : nullptr;
  std::atomic<int> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(count));
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < std::min(threads, count); ++t) {
    pool.emplace_back([&] {
      std::vector<double> mine;
      for (int i = next++; i < count && !failed; i = next++) {
        auto t0 = Clock::now();
        Status s = op(i);
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!s.ok()) {
          std::lock_guard lock(mu);
          if (!failed.exchange(true)) first_error = s;
          break;
        }
        mine.push_back(ms);
        ++done;
        ops->Add(1);
        if (moved) moved->Add(bytes_per_op);
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& th : pool) th.join();
  if (failed) {
    progress.Abandon();  // the run ends with its one-line error
  } else {
    progress.Finish();
  }
  PhaseResult r;
  r.name = name;
  r.count = done.load();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.bytes = bytes_per_op * static_cast<uint64_t>(r.count);
  if (failed) return first_error.WithContext(name);
  std::sort(latencies.begin(), latencies.end());
  r.latencies_ms = std::move(latencies);
  return r;
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

void PrintTable(const std::vector<PhaseResult>& rows) {
  std::printf("| %-14s | %6s | %10s | %9s | %9s | %9s |\n", "operation", "count", "ops/s", "MiB/s",
              "p50 ms", "p99 ms");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(16, '-').c_str(), std::string(8, '-').c_str(),
              std::string(12, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str());
  for (const PhaseResult& r : rows) {
    double secs = r.seconds > 0 ? r.seconds : 1e-9;
    char mib[32] = "-";
    if (r.bytes > 0) std::snprintf(mib, sizeof(mib), "%.1f", r.bytes / secs / (1 << 20));
    std::printf("| %-14s | %6d | %10.1f | %9s | %9.3f | %9.3f |\n", r.name.c_str(), r.count,
                r.count / secs, mib, Quantile(r.latencies_ms, 0.5), Quantile(r.latencies_ms, 0.99));
  }
}

std::string RandomTag() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08x%08x", rd(), rd());
  return buf;
}

// Deletes everything under `prefix`; best effort, reports what it could not remove.
void CleanUp(ObjectStore& store, const std::string& prefix) {
  object::ListOptions opts;
  opts.prefix = prefix;
  int left = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store.List(opts);
    if (!page.ok()) {
      std::fprintf(stderr, "strata objbench: cleanup of %s failed: %s\n", prefix.c_str(),
                   page.status().ToString().c_str());
      return;
    }
    for (const auto& o : page->objects) left += store.Delete(o.key).ok() ? 0 : 1;
    if (!page->truncated) break;
    opts.continuation = page->next_continuation;
  }
  if (left > 0)
    std::fprintf(stderr, "strata objbench: %d objects left under %s\n", left, prefix.c_str());
}

Status Benchmark(ObjectStore& store, const ObjbenchOptions& o, uint64_t small_size,
                 uint64_t big_size, const std::string& prefix, std::vector<PhaseResult>* rows) {
  std::string small_body(small_size, '\0'), big_body(big_size, '\0');
  std::mt19937_64 rng(42);  // incompressible bodies, so no layer can cheat
  for (auto* body : {&small_body, &big_body}) {
    for (char& c : *body) c = static_cast<char>(rng());
  }
  auto small_key = [&](int i) { return prefix + "small/" + std::to_string(i); };
  auto big_key = [&](int i) { return prefix + "big/" + std::to_string(i); };
  auto add = [&](Result<PhaseResult> r) -> Status {
    if (!r.ok()) return r.status();
    rows->push_back(std::move(*r));
    return Status::OK();
  };
  auto check_size = [](Result<std::string> got, uint64_t want, const std::string& key) {
    if (!got.ok()) return got.status();
    if (got->size() != want) {
      return Status::Corruption("got " + std::to_string(got->size()) + " bytes of " + key +
                                ", wrote " + std::to_string(want));
    }
    return Status::OK();
  };
  const int n = o.count, t = o.threads;
  RETURN_IF_ERROR(add(RunPhase("put small", n, t, small_size,
                               [&](int i) { return store.Put(small_key(i), small_body); })));
  RETURN_IF_ERROR(add(RunPhase("get small", n, t, small_size, [&](int i) {
    return check_size(store.Get(small_key(i)), small_size, small_key(i));
  })));
  RETURN_IF_ERROR(
      add(RunPhase("head", n, t, 0, [&](int i) { return store.Head(small_key(i)).status(); })));
  const int lists = std::max(1, std::min(n, 10 * t));
  RETURN_IF_ERROR(add(RunPhase("list", lists, t, 0, [&](int) -> Status {
    object::ListOptions lo;
    lo.prefix = prefix + "small/";
    auto page = store.List(lo);
    if (!page.ok()) return page.status();
    size_t want = std::min(n, 1000);
    if (page->objects.size() != want) {
      return Status::Corruption("listed " + std::to_string(page->objects.size()) +
                                " objects, wrote " + std::to_string(want));
    }
    return Status::OK();
  })));
  RETURN_IF_ERROR(
      add(RunPhase("delete small", n, t, 0, [&](int i) { return store.Delete(small_key(i)); })));
  const int b = o.big_count;
  RETURN_IF_ERROR(add(
      RunPhase("put big", b, t, big_size, [&](int i) { return store.Put(big_key(i), big_body); })));
  RETURN_IF_ERROR(add(RunPhase("get big", b, t, big_size, [&](int i) {
    return check_size(store.Get(big_key(i)), big_size, big_key(i));
  })));
  RETURN_IF_ERROR(
      add(RunPhase("delete big", b, t, 0, [&](int i) { return store.Delete(big_key(i)); })));
  return Status::OK();
}

int RunObjbench(const client::Registries& registries, const ObjbenchOptions& o) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "strata objbench: %s\n", s.ToString().c_str());
    return 1;
  };
  if (o.threads < 1 || o.count < 1 || o.big_count < 0) {
    return fail(Status::InvalidArgument("--threads and --count must be >= 1, --big-count >= 0"));
  }
  Result<uint64_t> small_size = ParseSize(o.small_size);
  if (!small_size.ok()) return fail(small_size.status().WithContext("--small-size"));
  Result<uint64_t> big_size = ParseSize(o.big_size);
  if (!big_size.ok()) return fail(big_size.status().WithContext("--big-size"));

  auto raw = registries.stores.Open(o.url, o.store);
  if (!raw.ok()) return fail(raw.status());
  auto retry = object::RetryStore::Open(*raw, object::RetryStore::Options());
  if (!retry.ok()) return fail(retry.status());
  object::RetryStore* retry_store = retry->get();
  std::shared_ptr<ObjectStore> store = std::move(*retry);

  const std::string prefix = "__strata_objbench_" + RandomTag() + "/";
  // One write first, so a wrong URL, key or bucket fails fast with a clear message (and
  // there is nothing to clean up yet).
  Status s = store->Put(prefix + "probe", "strata objbench probe");
  if (!s.ok()) return fail(s.WithContext("cannot write to " + store->Describe()));
  // The banner only once the store answered: a failure above is the one line a user sees.
  std::fprintf(stderr, "objbench %s: %d threads, %d small objects of %s, %d big objects of %s\n",
               store->Describe().c_str(), o.threads, o.count, HumanSize(*small_size).c_str(),
               o.big_count, HumanSize(*big_size).c_str());
  std::vector<PhaseResult> rows;
  s = Benchmark(*store, o, *small_size, *big_size, prefix, &rows);
  CleanUp(*store, prefix);
  if (!s.ok()) return fail(s);
  PrintTable(rows);
  std::printf("retries: %llu\n", static_cast<unsigned long long>(retry_store->retries()));
  return 0;
}

}  // namespace

void RegisterObjbench(CLI::App& app, const client::Registries& registries) {
  auto opts = std::make_shared<ObjbenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "objbench", "Measure an object store: put/get/head/list/delete, small and big objects");
  sub->add_option("STORAGE_URL", opts->url,
                  "file:///dir, s3://bucket, http://host:port/bucket, mem://")
      ->required();
  sub->add_option("--threads,-p", opts->threads, "concurrent requests")->capture_default_str();
  sub->add_option("--small-size", opts->small_size, "size of small objects")->capture_default_str();
  sub->add_option("--big-size", opts->big_size, "size of big objects")->capture_default_str();
  sub->add_option("--count", opts->count, "number of small objects")->capture_default_str();
  sub->add_option("--big-count", opts->big_count, "number of big objects")->capture_default_str();
  sub->add_option("--access-key", opts->store.access_key, "S3 access key (or AWS_ACCESS_KEY_ID)");
  sub->add_option("--secret-key", opts->store.secret_key,
                  "S3 secret key (or AWS_SECRET_ACCESS_KEY)");
  sub->add_option("--session-token", opts->store.session_token, "S3 session token");
  sub->add_option("--region", opts->store.region, "S3 region (default us-east-1)");
  sub->add_option("--credentials-file", opts->store.credentials_file,
                  "file with ACCESS:SECRET or an AWS [default] section");
  sub->callback([opts, reg = &registries] { SetExitCode(RunObjbench(*reg, *opts)); });
}

}  // namespace strata::cli
