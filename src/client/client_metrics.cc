// Client: the series that sample state instead of counting as it happens, refreshed by a
// collector each time the registry renders (a scrape of --metrics, a read of .stats).
//
//   strata_cache_{hits,misses,errors,fills}_total{tier}   per tier of the block chain, by the
//       tier's own name (memory, disk, store; a staging or peer tier added to the chain
//       shows up here by its name with no change to this file)
//   strata_cache_bytes{tier}, strata_cache_blocks{tier}   what the local cache tiers hold
//   strata_cache_evictions_total, _corrupt_total, _disk_errors_total
//   strata_staging_{bytes,blocks,uploading}, _upload_errors_total   with --writeback only
//   strata_buffer_bytes, strata_object_retries_total, strata_open_files, strata_sessions
//   strata_accesslog_readers, strata_accesslog_lines (0 lines whenever nobody reads)
//   strata_process_cpu_seconds (cumulative, a gauge: it is fractional), _resident_bytes
//   strata_group_peer_bytes_total, strata_group_requests_total{result}, strata_group_members
//       with --cache-group only (RegisterGroupMetrics)
//
// Cumulative values sampled from a component's own counters go into registry counters by
// their growth since the last sample, so they stay counters (rate() works, no resets).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "cache/staging_tier.h"
#include "chunk/chunk_store.h"
#include "client/client.h"

namespace strata::client {

namespace {

// A registry counter that follows a cumulative value read from elsewhere.
struct SampledCounter {
  Counter* counter = nullptr;
  uint64_t last = 0;
  void Update(uint64_t now) {
    if (now > last) counter->Inc(now - last);
    last = now;
  }
};

double CpuSeconds() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// Resident set from /proc/self/statm (pages); 0 when unreadable. /proc is not a disk file:
// it does not go through Env (as fuse_server.cc reads /proc/self/mountinfo).
double ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

void Client::RegisterStoreMetrics() {
  MetricsRegistry& r = *metrics_;
  // Constant labels: which volume and which mount this process serves (a handful of values
  // per host, never per file or per request).
  r.SetConstLabels({{"volume", volume_->name()}, {"mount_point", options_.volume.mount_point}});

  Gauge* buffered = *r.GetGauge("strata_buffer_bytes", "Write buffer bytes in use");
  Gauge* open_files = *r.GetGauge("strata_open_files", "File handles open in this client");
  Gauge* sessions = *r.GetGauge("strata_sessions", "Live client sessions of the volume");
  Gauge* cpu = *r.GetGauge("strata_process_cpu_seconds", "CPU time used by this process so far, seconds");
  Gauge* rss = *r.GetGauge("strata_process_resident_bytes", "Resident memory of this process");
  Gauge* log_readers =
      *r.GetGauge("strata_accesslog_readers", "Readers of .accesslog open now");
  Gauge* log_lines =
      *r.GetGauge("strata_accesslog_lines", "Lines .accesslog holds for its readers");
  // Writeback staging (--writeback): its tier is counted below by name like any other; what
  // it holds is sampled from its own stats. Registered only when staging is on, so a mount
  // without it shows no series that could only say 0.
  cache::StagingTier* staging = volume_->chunk_store()->staging();
  Gauge* staged_bytes = nullptr;
  Gauge* staged_blocks = nullptr;
  Gauge* staged_uploading = nullptr;
  SampledCounter staged_upload_errors;
  if (staging != nullptr) {
    staged_bytes = *r.GetGauge("strata_staging_bytes", "Bytes staged locally, not yet uploaded");
    staged_blocks = *r.GetGauge("strata_staging_blocks", "Blocks staged locally, not yet uploaded");
    staged_uploading = *r.GetGauge("strata_staging_uploading", "Staged blocks being uploaded now");
    staged_upload_errors.counter = *r.GetCounter("strata_staging_upload_errors_total",
                                                 "Failed upload attempts of staged blocks");
  }
  SampledCounter retries{*r.GetCounter("strata_object_retries_total",
                                       "Object store attempts after the first (RetryStore)")};
  SampledCounter evictions{*r.GetCounter("strata_cache_evictions_total",
                                         "Blocks evicted from the local cache tiers")};
  SampledCounter corrupt{*r.GetCounter("strata_cache_corrupt_total",
                                       "Cached blocks dropped for a bad checksum")};
  SampledCounter disk_errors{
      *r.GetCounter("strata_cache_disk_errors_total", "Cache disk I/O errors")};
  Gauge* mem_bytes = *r.GetGauge("strata_cache_bytes", "Bytes held by a cache tier",
                                 {{"tier", "memory"}});
  Gauge* disk_bytes = *r.GetGauge("strata_cache_bytes", "Bytes held by a cache tier",
                                  {{"tier", "disk"}});
  Gauge* disk_blocks = *r.GetGauge("strata_cache_blocks", "Blocks held by a cache tier",
                                   {{"tier", "disk"}});

  struct TierSeries {
    SampledCounter hits, misses, errors, fills;
  };
  // Per tier name, made on first sight (the collector runs under the registry's collector
  // lock, one at a time).
  auto tiers = std::make_shared<std::map<std::string, TierSeries>>();
  auto tier_series = [&r, tiers](const std::string& name) -> TierSeries& {
    auto it = tiers->find(name);
    if (it != tiers->end()) return it->second;
    Labels l = {{"tier", name}};
    TierSeries s;
    s.hits.counter = *r.GetCounter("strata_cache_hits_total", "Block lookups a tier answered", l);
    s.misses.counter =
        *r.GetCounter("strata_cache_misses_total", "Block lookups a tier did not have", l);
    s.errors.counter =
        *r.GetCounter("strata_cache_errors_total", "Block lookups that failed in a tier", l);
    s.fills.counter =
        *r.GetCounter("strata_cache_fills_total", "Blocks put into a tier after a lookup", l);
    return tiers->emplace(name, s).first->second;
  };

  // Sessions are a metadata scan: sampled at most every 30 s, not per scrape.
  struct SessionSample {
    bool taken = false;
    int64_t at = 0;
    double count = 0;
  };
  auto session_sample = std::make_shared<SessionSample>();

  chunk::ChunkStore* chunks = volume_->chunk_store();
  vfs::Volume* volume = volume_.get();
  object::RetryStore* retry = retry_;
  Clock* clock = clock_;
  r.AddCollector([=]() mutable {
    buffered->Set(static_cast<double>(chunks->writer()->buffered_bytes()));
    open_files->Set(static_cast<double>(volume->open_file_handles()));
    cpu->Set(CpuSeconds());
    rss->Set(ResidentBytes());
    vfs::AccessLog& log = volume->virtual_files().access_log();
    log_readers->Set(log.readers());
    log_lines->Set(static_cast<double>(log.buffered()));
    if (retry != nullptr) retries.Update(retry->retries());
    int64_t now = clock->MonotonicNanos();
    if (!session_sample->taken || now - session_sample->at >= 30'000'000'000LL) {
      session_sample->taken = true;
      auto list = volume->meta()->ListSessions();
      if (list.ok()) session_sample->count = static_cast<double>(list->size());
      session_sample->at = now;  // a failure is tried again at the next period, not per scrape
    }
    sessions->Set(session_sample->count);
    if (staging != nullptr) {
      cache::StagingStats st = staging->stats();
      staged_bytes->Set(static_cast<double>(st.bytes));
      staged_blocks->Set(static_cast<double>(st.blocks));
      staged_uploading->Set(static_cast<double>(st.uploading));
      staged_upload_errors.Update(st.upload_errors);
    }
    for (const cache::TierStats& t : chunks->tiers()->stats().tiers) {
      TierSeries& s = tier_series(t.name);
      s.hits.Update(t.hits);
      s.misses.Update(t.misses);
      s.errors.Update(t.errors);
      s.fills.Update(t.fills);
    }
    if (chunks->cache() == nullptr) return;
    cache::CacheStats cs = chunks->cache()->stats();
    mem_bytes->Set(static_cast<double>(cs.memory_bytes));
    disk_bytes->Set(static_cast<double>(cs.disk_bytes));
    disk_blocks->Set(static_cast<double>(cs.disk_blocks));
    evictions.Update(cs.evictions);
    corrupt.Update(cs.corrupt_dropped);
    disk_errors.Update(cs.disk_errors);
  });
}

void Client::RegisterGroupMetrics() {
  MetricsRegistry& r = *metrics_;
  const char* help = "Cache group requests, by what happened";
  auto requests = [&](const char* result) {
    return SampledCounter{*r.GetCounter("strata_group_requests_total", help, {{"result", result}})};
  };
  SampledCounter peer_bytes{
      *r.GetCounter("strata_group_peer_bytes_total", "Bytes other members served us")};
  SampledCounter misses = requests("peer_miss"), errors = requests("peer_error"),
                 skipped = requests("skipped_down"), served = requests("served"),
                 denied = requests("denied");
  Gauge* members = *r.GetGauge("strata_group_members", "Members on this mount's ring");
  cache::CacheGroup* g = group_.get();
  r.AddCollector([=]() mutable {
    cache::CacheGroupStats s = g->stats();
    peer_bytes.Update(s.tier.peer_bytes);
    misses.Update(s.tier.peer_misses);
    errors.Update(s.tier.peer_errors);
    skipped.Update(s.tier.skipped);
    served.Update(s.server.served);
    denied.Update(s.server.denied);
    members->Set(static_cast<double>(s.members.size()));
  });
}

}  // namespace strata::client
