#include "object/metrics_store.h"

#include <bit>
#include <cmath>

namespace strata::object {

const char* StoreOpName(StoreOp op) {
  static constexpr const char* kNames[kStoreOpCount] = {
      "get",          "put",           "head",        "delete",
      "list",         "create_upload", "upload_part", "complete_upload",
      "abort_upload", "list_parts",    "sync"};
  return kNames[static_cast<int>(op)];
}

uint64_t OpStats::LatencyQuantileUs(double q) const {
  uint64_t total = 0;
  for (uint64_t b : latency_buckets) total += b;
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    seen += latency_buckets[i];
    if (seen >= rank) return uint64_t{1} << i;
  }
  return uint64_t{1} << (kLatencyBuckets - 1);
}

std::unique_ptr<MetricsStore> MetricsStore::Open(std::shared_ptr<ObjectStore> target, Clock* clock,
                                                 MetricsRegistry* registry) {
  auto store = std::unique_ptr<MetricsStore>(
      new MetricsStore(std::move(target), clock ? clock : SystemClock::Get()));
  if (registry) store->Bind(*registry);
  return store;
}

void MetricsStore::Bind(MetricsRegistry& r) {
  for (int i = 0; i < kStoreOpCount; ++i) {
    Labels l = {{"op", StoreOpName(static_cast<StoreOp>(i))}};
    Counters& c = counters_[i];
    // Names are constants: the registry cannot refuse them.
    c.r_calls = *r.GetCounter("strata_object_requests_total", "Object store requests", l);
    c.r_errors =
        *r.GetCounter("strata_object_errors_total", "Object store requests that failed", l);
    c.r_bytes = *r.GetCounter("strata_object_bytes_total", "Object store body bytes", l);
    c.r_latency =
        *r.GetHistogram("strata_object_request_seconds", "Object store request latency", l);
    c.r_in_flight = *r.GetGauge("strata_object_requests_in_flight",
                                "Object store requests under way (op=put: uploads)", l);
  }
}

OpStats MetricsStore::Snapshot(StoreOp op) const {
  const Counters& c = counters_[static_cast<int>(op)];
  OpStats s;
  s.calls = c.calls.load();
  s.errors = c.errors.load();
  s.bytes = c.bytes.load();
  s.total_latency_us = c.total_latency_us.load();
  for (int i = 0; i < kLatencyBuckets; ++i) s.latency_buckets[i] = c.buckets[i].load();
  return s;
}

int64_t MetricsStore::Begin(StoreOp op) {
  Counters& c = counters_[static_cast<int>(op)];
  if (c.r_in_flight) c.r_in_flight->Add(1);
  return clock_->MonotonicNanos();
}

void MetricsStore::Record(StoreOp op, int64_t start_ns, bool ok, uint64_t bytes) {
  int64_t elapsed_ns = clock_->MonotonicNanos() - start_ns;
  uint64_t us = elapsed_ns > 0 ? static_cast<uint64_t>(elapsed_ns) / 1000 : 0;
  // Smallest i with us < 2^i.
  int bucket = std::min(kLatencyBuckets - 1, static_cast<int>(std::bit_width(us)));
  Counters& c = counters_[static_cast<int>(op)];
  c.calls.fetch_add(1, std::memory_order_relaxed);
  if (!ok) c.errors.fetch_add(1, std::memory_order_relaxed);
  c.bytes.fetch_add(bytes, std::memory_order_relaxed);
  c.total_latency_us.fetch_add(us, std::memory_order_relaxed);
  c.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  if (c.r_calls) {
    c.r_in_flight->Add(-1);
    c.r_calls->Inc();
    if (!ok) c.r_errors->Inc();
    c.r_bytes->Inc(bytes);
    c.r_latency->Observe(static_cast<double>(elapsed_ns) / 1e9);
  }
}

Result<std::string> MetricsStore::Get(const std::string& key, uint64_t off, int64_t len) {
  int64_t start = Begin(StoreOp::kGet);
  Result<std::string> r = target()->Get(key, off, len);
  Record(StoreOp::kGet, start, r.ok(), r.ok() ? r->size() : 0);
  return r;
}

Result<BlockBuffer> MetricsStore::GetBuffer(const std::string& key) {
  int64_t start = Begin(StoreOp::kGet);
  Result<BlockBuffer> r = target()->GetBuffer(key);
  Record(StoreOp::kGet, start, r.ok(), r.ok() ? r->size() : 0);
  return r;
}

Status MetricsStore::Put(const std::string& key, std::string_view data, const PutOptions& opts) {
  int64_t start = Begin(StoreOp::kPut);
  Status s = target()->Put(key, data, opts);
  Record(StoreOp::kPut, start, s.ok(), s.ok() ? data.size() : 0);
  return s;
}

Status MetricsStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts,
                              const PutOptions& opts) {
  int64_t start = Begin(StoreOp::kPut);
  Status s = target()->PutParts(key, parts, opts);
  uint64_t n = 0;
  for (std::string_view p : parts) n += p.size();
  Record(StoreOp::kPut, start, s.ok(), s.ok() ? n : 0);
  return s;
}

Result<ObjectInfo> MetricsStore::Head(const std::string& key) {
  int64_t start = Begin(StoreOp::kHead);
  Result<ObjectInfo> r = target()->Head(key);
  Record(StoreOp::kHead, start, r.ok(), 0);
  return r;
}

Status MetricsStore::Delete(const std::string& key) {
  int64_t start = Begin(StoreOp::kDelete);
  Status s = target()->Delete(key);
  Record(StoreOp::kDelete, start, s.ok(), 0);
  return s;
}

Result<ListResult> MetricsStore::List(const ListOptions& opts) {
  int64_t start = Begin(StoreOp::kList);
  Result<ListResult> r = target()->List(opts);
  Record(StoreOp::kList, start, r.ok(), 0);
  return r;
}

Result<std::string> MetricsStore::CreateMultipart(const std::string& key) {
  int64_t start = Begin(StoreOp::kCreateMultipart);
  Result<std::string> r = target()->CreateMultipart(key);
  Record(StoreOp::kCreateMultipart, start, r.ok(), 0);
  return r;
}

Result<std::string> MetricsStore::UploadPart(const std::string& key, const std::string& upload_id,
                                             int part_number, std::string_view data) {
  int64_t start = Begin(StoreOp::kUploadPart);
  Result<std::string> r = target()->UploadPart(key, upload_id, part_number, data);
  Record(StoreOp::kUploadPart, start, r.ok(), r.ok() ? data.size() : 0);
  return r;
}

Status MetricsStore::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                       const std::vector<PartInfo>& parts) {
  int64_t start = Begin(StoreOp::kCompleteMultipart);
  Status s = target()->CompleteMultipart(key, upload_id, parts);
  Record(StoreOp::kCompleteMultipart, start, s.ok(), 0);
  return s;
}

Status MetricsStore::AbortMultipart(const std::string& key, const std::string& upload_id) {
  int64_t start = Begin(StoreOp::kAbortMultipart);
  Status s = target()->AbortMultipart(key, upload_id);
  Record(StoreOp::kAbortMultipart, start, s.ok(), 0);
  return s;
}

Result<std::vector<PartInfo>> MetricsStore::ListParts(const std::string& key,
                                                      const std::string& upload_id) {
  int64_t start = Begin(StoreOp::kListParts);
  Result<std::vector<PartInfo>> r = target()->ListParts(key, upload_id);
  Record(StoreOp::kListParts, start, r.ok(), 0);
  return r;
}

Status MetricsStore::Sync(const std::vector<std::string>& keys) {
  int64_t start = Begin(StoreOp::kSync);
  Status s = target()->Sync(keys);
  Record(StoreOp::kSync, start, s.ok(), 0);
  return s;
}

}  // namespace strata::object
