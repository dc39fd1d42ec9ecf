// MetricsStore: counts calls, errors, bytes and latency of every operation on the store it
// wraps, for `strata stats`, Prometheus export and objbench (a Sync counts as one call,
// whatever the number of keys). Latencies go into a histogram with power-of-two microsecond
// buckets, so percentiles are approximate (within 2x) but recording is a few atomic adds.
//
// Given a MetricsRegistry, every operation is also counted into its series (the owner's
// registry, exported by --metrics): strata_object_requests_total{op}, _errors_total{op},
// _bytes_total{op}, the histogram strata_object_request_seconds{op} and the gauge
// strata_object_requests_in_flight{op} (calls under way; op="put" are the uploads in flight).
//
// Thread-safety: all methods may be called concurrently; Snapshot is not atomic across
// operations (each counter is read once).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "object/object_store.h"
#include "object/store_op.h"

namespace strata::object {

constexpr int kLatencyBuckets = 32;  // bucket i: latency < 2^i microseconds (last: the rest)

struct OpStats {
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint64_t bytes = 0;  // body bytes read (get) or written (put, upload part)
  uint64_t total_latency_us = 0;
  std::array<uint64_t, kLatencyBuckets> latency_buckets{};

  // Approximate latency quantile (0 < q <= 1) in microseconds: the upper edge of the bucket
  // holding it; 0 when there were no calls.
  uint64_t LatencyQuantileUs(double q) const;
};

class MetricsStore : public ObjectStoreWrapper {
 public:
  // `clock` nullptr: SystemClock::Get(). `registry` (may be null) is borrowed and must outlive
  // the store.
  static std::unique_ptr<MetricsStore> Open(std::shared_ptr<ObjectStore> target,
                                            Clock* clock = nullptr,
                                            MetricsRegistry* registry = nullptr);

  OpStats Snapshot(StoreOp op) const;

  Result<std::string> Get(const std::string& key, uint64_t off, int64_t len) override;
  Result<BlockBuffer> GetBuffer(const std::string& key) override;
  Status Put(const std::string& key, std::string_view data, const PutOptions& opts) override;
  // Counted as a put of the parts' total size.
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                  const PutOptions& opts) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<ListResult> List(const ListOptions& opts) override;
  Result<std::string> CreateMultipart(const std::string& key) override;
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id,
                                 int part_number, std::string_view data) override;
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<PartInfo>& parts) override;
  Status AbortMultipart(const std::string& key, const std::string& upload_id) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& key,
                                          const std::string& upload_id) override;
  Status Sync(const std::vector<std::string>& keys) override;

 private:
  struct Counters {
    std::atomic<uint64_t> calls{0}, errors{0}, bytes{0}, total_latency_us{0};
    std::array<std::atomic<uint64_t>, kLatencyBuckets> buckets{};
    // The registry's series (null without a registry).
    Counter* r_calls = nullptr;
    Counter* r_errors = nullptr;
    Counter* r_bytes = nullptr;
    Histogram* r_latency = nullptr;
    Gauge* r_in_flight = nullptr;
  };
  MetricsStore(std::shared_ptr<ObjectStore> target, Clock* clock)
      : ObjectStoreWrapper(std::move(target)), clock_(clock) {}
  void Bind(MetricsRegistry& registry);
  // Marks a call of `op` as under way; returns its start time for Record.
  int64_t Begin(StoreOp op);
  void Record(StoreOp op, int64_t start_ns, bool ok, uint64_t bytes);

  Clock* clock_;
  std::array<Counters, kStoreOpCount> counters_;
};

}  // namespace strata::object
