// Client: the composition root of a running StrataFS client — a mount, the coming gateway, or
// a tool that reads and writes a volume. One object owns everything such a client needs, built
// in one place from one Options tree (STYLE.md "No mutable globals"):
//
//   Registries (filled once by RegisterBuiltins from main or a test; borrowed)
//   Clock (borrowed; SystemClock by default, FakeClock in tests)
//   MetricsRegistry (owned): metadata transactions, store requests, cache and buffer gauges;
//                   the FUSE adapter and the gateway add their own series to it
//   KvEngine (shared) with the retry policy of --meta-timeout and the transaction counters
//   the store stack: backend -> MetricsStore -> RetryStore (--io-timeout, --io-retries)
//   Volume (vfs): Meta with its session, the data path (ChunkStore: writer, reader, caches,
//                 compactor, deleter) and the inode/handle tables
//   CacheGroup (owned, with --cache-group): the peer tier in the data path's chain, the peer
//                 server over the local tiers, membership from the session records
//
// The process logger is the one piece of state outside it (common/logging.h explains why);
// main configures it from ClientOptions::log through InitLogging before opening a Client.
//
// Destruction flushes every open file (errors logged), stops background jobs, closes the
// session, then releases the store and the engine, in that order.
//
// Thread-safety: Open from one thread; the accessors and everything they return may be used
// from any thread (see each class). Errors from Open: the engine's (kInvalidArgument for a
// bad URL, kUnavailable for an unreachable server), kNotFound "volume is not formatted: run
// `strata format ...`", the store's (with "object store" context), kInvalidArgument for a bad
// option naming the flag.
#pragma once

#include <memory>
#include <string>

#include "cache/cache_group.h"
#include "client/builtins.h"
#include "cache/staging_tier.h"
#include "client/options.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "meta/kv/kv.h"
#include "object/metrics_store.h"
#include "object/retry_store.h"
#include "vfs/vfs.h"

namespace strata::client {

// The writeback directory when --writeback-dir is not given (options.h).
std::string DefaultWritebackDir(const std::string& cache_dir, const std::string& uuid);
// What the session record says of a staging tier: bytes, blocks, the lowest staged slice id.
meta::SessionStaging ReportStaging(const cache::StagingTier& staging,
                                   const std::string& key_prefix);

class Client {
 public:
  // `registries` and `clock` (nullptr: SystemClock) are borrowed and must outlive the Client.
  static Result<std::unique_ptr<Client>> Open(const Registries& registries,
                                              const ClientOptions& options,
                                              Clock* clock = nullptr);
  // The same on an engine the caller opened already (options.meta_url is then only a label):
  // several clients of one in-process engine in tests, or a tool that formatted it first.
  // The engine's retry policy and transaction counters are set to this client's.
  static Result<std::unique_ptr<Client>> OpenOnEngine(std::shared_ptr<kv::KvEngine> engine,
                                                      const Registries& registries,
                                                      const ClientOptions& options,
                                                      Clock* clock = nullptr);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  vfs::Volume& volume() { return *volume_; }
  MetricsRegistry& metrics() { return *metrics_; }
  kv::KvEngine& engine() { return *engine_; }
  Clock& clock() { return *clock_; }
  const ClientOptions& options() const { return options_; }
  // Request counters of the store as the data path sees it (after retries are hidden).
  object::MetricsStore& store_metrics() { return *store_metrics_; }
  // The store stack the data path uses (backend -> metrics -> retries with the I/O budget),
  // for tools that list or delete objects (fsck, gc). Shared; valid while the client lives.
  std::shared_ptr<object::ObjectStore> store() const { return store_; }
  // The cache group this client reads through (and serves in); null without --cache-group.
  cache::CacheGroup* group() { return group_.get(); }

  // Prometheus text of every series, after refreshing the gauges that sample state
  // (cache sizes, buffered bytes). The observability issue serves this on --metrics.
  std::string RenderMetrics();

 private:
  Client() = default;
  // client_metrics.cc: the volume/mount point labels and every sampled series (cache tiers,
  // buffers, retries, open files, sessions, process), refreshed at render time.
  void RegisterStoreMetrics();
  void RegisterGroupMetrics();

  ClientOptions options_;
  Clock* clock_ = nullptr;
  // Shared with the engine's transaction counters (the engine may outlive this client).
  std::shared_ptr<MetricsRegistry> metrics_;
  std::shared_ptr<kv::KvEngine> engine_;
  std::shared_ptr<object::MetricsStore> store_metrics_;
  std::shared_ptr<object::ObjectStore> store_;
  // Declared before volume_ so that it outlives the chain holding its tier; stopped first
  // in the destructor so that no peer request runs while the tiers it serves from go.
  std::unique_ptr<cache::CacheGroup> group_;
  object::RetryStore* retry_ = nullptr;  // inside store_ (its retries are counted)
  std::unique_ptr<vfs::Volume> volume_;  // destroyed first (flush, session close)
};

}  // namespace strata::client
