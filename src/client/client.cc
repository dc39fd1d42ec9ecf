// Client: builds a volume's parts in one place, in dependency order (client.h).
#include "client/client.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "cache/peer_auth.h"
#include "chunk/block_key.h"

#include "chunk/chunk_store.h"
#include "client/options_json.h"
#include "common/logging.h"
#include "meta/meta.h"
#include "object/retry_store.h"

namespace strata::client {

Status IoOptions::Validate() const {
  if (meta_timeout.count() < 100) return Status::InvalidArgument("--meta-timeout must be >= 0.1 s");
  if (io_timeout.count() < 100) return Status::InvalidArgument("--io-timeout must be >= 0.1 s");
  if (io_retries < 1) return Status::InvalidArgument("--io-retries must be at least 1");
  return Status::OK();
}

Status ClientOptions::Validate() const {
  if (meta_url.empty()) return Status::InvalidArgument("a metadata URL is required");
  RETURN_IF_ERROR(io.Validate());
  RETURN_IF_ERROR(meta.Validate());
  RETURN_IF_ERROR(writer.Validate());
  RETURN_IF_ERROR(reader.Validate());
  RETURN_IF_ERROR(cache.Validate());
  RETURN_IF_ERROR(group.Validate());
  return volume.Validate();
}

namespace {

// The engine's error for an unformatted volume, said as what to do about it.
Status NotFormatted(const Status& s, const std::string& meta_url) {
  if (s.Is(Code::kNotFound) && s.message().find("not formatted") != std::string_view::npos) {
    return Status(Code::kNotFound, "volume is not formatted: run `strata format " + meta_url +
                                       " NAME --storage URL` first");
  }
  return s;
}

// ---- cache group helpers (DESIGN.md §7; cache/cache_group.h)

// The group, with the secret derived from the volume (cache/peer_auth.h). A read-only mount
// writes no session, so it cannot be found by the others: it reads through the group only.
Result<std::unique_ptr<cache::CacheGroup>> OpenGroup(const ClientOptions& options,
                                                     const meta::VolumeFormat& format,
                                                     Clock* clock) {
  cache::CacheGroupOptions go = options.group;
  if (options.volume.read_only && go.sharing) {
    LOG_INFO("cache group {}: a read-only mount reads through the group but serves nothing",
             go.name);
    go.sharing = false;
  }
  std::string secret =
      cache::DerivePeerSecret(format.uuid, format.name, format.secret_key, go.name);
  return cache::CacheGroup::Open(go, std::move(secret), clock);
}

// Starts serving the local tiers and the store to the peers, and records the address to
// publish in the session.
Status ServeGroup(cache::CacheGroup& group, chunk::ChunkStore& chunks,
                  const chunk::ChunkOptions& co, const ClientOptions& options,
                  vfs::VolumeOptions* vo) {
  const std::string prefix = co.blocks.key_prefix;
  auto valid = [prefix](const std::string& key, uint32_t len) {
    auto parts = chunk::ParseBlockKey(prefix, key);
    return parts.ok() && parts->len == len && len > 0;
  };
  const uint64_t weight =
      options.cache.cache_dir.empty() ? options.cache.memory_size : options.cache.cache_size;
  ASSIGN_OR_RETURN(std::string address,
                   group.Serve(chunks.cache()->tiers(), chunks.store_tier(), valid, weight));
  if (address.empty()) return Status::OK();  // --no-sharing
  vo->cache_group = group.options().name;
  vo->peer_address = address;
  vo->cache_weight = weight;
  return Status::OK();
}

// Members are the live sessions of this group that publish a peer address.
void StartGroupMembership(cache::CacheGroup& group, meta::Meta* meta, Clock* clock) {
  const std::string name = group.options().name;
  group.StartMembership([meta, clock, name]() -> Result<std::vector<cache::RingMember>> {
    ASSIGN_OR_RETURN(auto sessions, meta->ListSessions());
    const int64_t now = clock->NowNanos() / 1000000000;
    std::vector<cache::RingMember> out;
    for (const meta::SessionInfo& s : sessions) {
      if (s.cache_group != name || s.peer_address.empty() || s.expire_unix < now) continue;
      out.push_back({s.peer_address, s.cache_weight});
    }
    return out;
  });
}

}  // namespace

std::string DefaultWritebackDir(const std::string& cache_dir, const std::string& uuid) {
  std::string base = cache_dir;
  if (base.empty()) {
    const char* home = std::getenv("HOME");
    base = geteuid() == 0 ? "/var/lib/strata" : std::string(home ? home : "/tmp") + "/.strata";
  }
  return base + "/writeback-" + uuid;
}

meta::SessionStaging ReportStaging(const cache::StagingTier& staging,
                                   const std::string& key_prefix) {
  meta::SessionStaging r;
  r.enabled = true;
  r.dir = staging.dir();
  const cache::StagingStats s = staging.stats();
  r.bytes = s.bytes;
  r.blocks = s.blocks;
  for (const std::string& key : staging.Keys()) {
    auto parts = chunk::ParseBlockKey(key_prefix, key);
    if (!parts.ok()) continue;
    if (r.oldest_slice == 0 || parts->slice_id < r.oldest_slice) r.oldest_slice = parts->slice_id;
  }
  return r;
}

Result<std::unique_ptr<Client>> Client::Open(const Registries& registries,
                                             const ClientOptions& options, Clock* clock) {
  RETURN_IF_ERROR(options.Validate());
  auto engine = registries.engines.Open(options.meta_url);
  if (!engine.ok()) return engine.status().WithContext("metadata engine");
  return OpenOnEngine(*engine, registries, options, clock);
}

Result<std::unique_ptr<Client>> Client::OpenOnEngine(std::shared_ptr<kv::KvEngine> engine,
                                                     const Registries& registries,
                                                     const ClientOptions& options, Clock* clock) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Client> c(new Client());
  c->options_ = options;
  c->clock_ = clock ? clock : SystemClock::Get();
  c->metrics_ = std::make_shared<MetricsRegistry>();
  const bool read_only = options.volume.read_only;
  const bool background = options.background_jobs && !read_only;

  // Metadata engine, with the time budget and the transaction counters.
  c->engine_ = std::move(engine);
  kv::RetryPolicy policy;
  policy.budget = options.io.meta_timeout;
  policy.clock = c->clock_;
  c->engine_->set_retry_policy(policy);
  MetricsRegistry& r = *c->metrics_;
  kv::TxnMetrics tm;
  tm.owner = c->metrics_;
  tm.transactions = *r.GetCounter("strata_meta_transactions_total", "Metadata transactions");
  tm.conflicts = *r.GetCounter("strata_meta_conflicts_total", "Transaction attempts that conflicted");
  tm.retries = *r.GetCounter("strata_meta_retries_total", "Transaction attempts after the first");
  tm.failures = *r.GetCounter("strata_meta_failures_total", "Transactions the engine failed");
  tm.latency = *r.GetHistogram("strata_meta_transaction_seconds", "Metadata transaction latency");
  c->engine_->set_txn_metrics(tm);

  auto format = meta::Meta::LoadFormat(*c->engine_);
  if (!format.ok()) return NotFormatted(format.status(), options.meta_url);
  meta::MetaOptions mo = options.meta;
  mo.read_only = read_only;
  mo.background_jobs = mo.background_jobs && background;
  mo.clock = c->clock_;  // sessions, heartbeats, mtimes and lock waits on the client's clock
  ASSIGN_OR_RETURN(auto meta, meta::Meta::Open(c->engine_, mo));

  // Store stack: backend -> metrics (what reaches the backend) -> retries (the budget).
  object::StoreOptions so;
  so.access_key = format->access_key;
  so.secret_key = format->secret_key;
  so.request_timeout_ms = static_cast<int>(
      std::min<int64_t>(so.request_timeout_ms, options.io.io_timeout.count()));
  auto raw = registries.stores.Open(format->storage_url, so);
  if (!raw.ok()) return raw.status().WithContext("object store");
  c->store_metrics_ = object::MetricsStore::Open(*raw, c->clock_, c->metrics_.get());
  object::RetryStore::Options ro;
  ro.max_attempts = options.io.io_retries;
  ro.total_timeout = options.io.io_timeout;
  ro.clock = c->clock_;
  ASSIGN_OR_RETURN(auto retry, object::RetryStore::Open(c->store_metrics_, ro));
  c->retry_ = retry.get();
  std::shared_ptr<object::ObjectStore> store(std::move(retry));
  c->store_ = store;
  // Reachability: a clear error at mount, not EIO on the first read.
  auto head = store->Head(format->name + "/strata.uuid");
  if (!head.ok() && !head.status().Is(Code::kNotFound)) {
    return head.status().WithContext("object store " + store->Describe() + " is not usable");
  }

  // Data path: block layout from the format, everything else from the options tree.
  ASSIGN_OR_RETURN(chunk::ChunkOptions co, chunk::ChunkOptions::FromFormat(*format));
  co.writer = options.writer;
  co.reader = options.reader;
  co.cache = options.cache;
  co.background_jobs = background;
  if (options.writeback) {
    co.writeback = true;
    co.staging = options.staging;
    co.staging.volume_uuid = format->uuid;
    if (co.staging.dir.empty()) {
      co.staging.dir = DefaultWritebackDir(options.cache.cache_dir, format->uuid);
    }
    co.staging.free_space_ratio = options.cache.free_space_ratio;
    co.staging.uploaders = options.writer.max_uploads;
    if (co.staging.env == nullptr) co.staging.env = options.cache.env;
    co.staging.clock = c->clock_;
    // The ChunkStore (and its staging tier) goes before Meta (vfs::Volume's destructor).
    co.staging.on_nonempty = [m = meta.get()] { m->PublishSessionSoon(); };
  }
  // ---- cache group (DESIGN.md §7): its peer tier goes between the local tiers and the store.
  std::unique_ptr<cache::CacheGroup> group;
  if (options.group.enabled()) {
    ASSIGN_OR_RETURN(group, OpenGroup(options, *format, c->clock_));
    co.group_tier = group->tier();
  }
  // ---- end cache group
  auto chunks_or = chunk::ChunkStore::Open(meta.get(), store, co);
  if (!chunks_or.ok()) {
    return options.writeback ? chunks_or.status().WithContext("writeback") : chunks_or.status();
  }
  auto chunks = std::move(*chunks_or);
  meta::Meta* meta_ptr = meta.get();
  vfs::VolumeOptions vo = options.volume;
  if (group) RETURN_IF_ERROR(ServeGroup(*group, *chunks, co, options, &vo));

  vfs::VolumeParts parts{c->engine_, std::move(meta), store, std::move(chunks)};
  // .stats renders the registry; .config is fixed for the life of the client.
  std::string config = OptionsJson(options, format->name, format->storage_url);
  parts.virtual_sources.stats = [r = c->metrics_.get()] { return r->Render(); };
  parts.virtual_sources.config = [config] { return config; };
  parts.virtual_sources.clock = c->clock_;
  auto volume = vfs::Volume::Open(std::move(parts), vo);
  if (!volume.ok()) {
    if (group) group->Stop();
    return volume.status();
  }
  c->volume_ = std::move(*volume);
  if (cache::StagingTier* staging = c->volume_->chunk_store()->staging()) {
    c->volume_->meta()->SetStagingReporter(
        [staging, prefix = format->name + "/"] { return ReportStaging(*staging, prefix); });
    c->volume_->meta()->PublishSessionSoon();
    LOG_INFO("writeback: staging blocks in {} (limit {} bytes, upload delay {} ms)",
             staging->dir(), co.staging.limit, co.staging.upload_delay.count());
  }
  if (group) {
    StartGroupMembership(*group, meta_ptr, c->clock_);
    c->group_ = std::move(group);
    c->RegisterGroupMetrics();
  }
  c->RegisterStoreMetrics();
  LOG_INFO("volume {} opened: metadata {}, store {}{}", format->name, c->engine_->Describe(),
           store->Describe(), read_only ? " (read-only)" : "");
  auto durability = c->engine_->GetDurability();
  if (durability.ok() && !durability->survives_restart) {
    LOG_WARN("metadata engine {}: {}", c->engine_->Describe(), durability->detail);
  }
  return c;
}

Client::~Client() {
  // The session thread must stop reading the staging tier before the volume drops it.
  if (volume_) volume_->meta()->SetStagingReporter(nullptr);
  if (group_) group_->Stop();  // no peer request runs while the tiers it serves from go
  volume_.reset();  // flushes, stops background jobs, closes the session
  group_.reset();   // the chain that held its tier is gone now
}

std::string Client::RenderMetrics() { return metrics_->Render(); }

}  // namespace strata::client
