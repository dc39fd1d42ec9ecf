// Usage accounting (internal.h UpdateUsage, namespace_util.h): bytes and inodes per directory
// (U{ino}) and for the volume (C{usedSpace/k}, C{usedInodes/k}, 16 shards summed, plus the
// unsharded keys of older volumes), updated inside the transaction of the operation that
// changes them, so they are exact after any crash. They are added blind (kv Increment: no
// read, no conflict between operations that only add). Limits (the volume's capacity and
// inode counters, mirroring the settings: meta.cc WriteSettings; directory quotas) are
// checked by the quota layer as the increments go by (quota_kv.h).
#include "common/bytes.h"
#include "meta/internal.h"
#include "meta/meta.h"
#include "meta/namespace_util.h"
#include "meta/quota_kv.h"
#include "meta/quota_record.h"
#include "meta/schema.h"

namespace strata::meta {
namespace internal {
namespace {

uint64_t DecodeU64(const std::optional<std::string>& raw) {
  return raw && raw->size() == 8 ? GetU64BE(raw->data()) : 0;
}

}  // namespace

DirUsage DecodeUsage(const std::optional<std::string>& raw) {
  DirUsage u;
  if (raw && raw->size() == 16) {
    u.bytes = schema::DecodeI64(std::string_view(*raw).substr(0, 8));
    u.inodes = schema::DecodeI64(std::string_view(*raw).substr(8, 8));
  }
  return u;
}

Status UpdateDirUsage(kv::Transaction& txn, Ino dir, int64_t bytes, int64_t inodes) {
  if (dir == 0 || (bytes == 0 && inodes == 0)) return Status::OK();
  // Blind (kv.h Increment): the record joins no read set, so creates in one directory do not
  // conflict on it; an empty directory keeps no record (erase at zero).
  return txn.Increment(schema::UsageKey(dir), {bytes, inodes}, /*erase_at_zero=*/true);
}

std::vector<std::string> UsageLimitKeys() {
  return {schema::CounterKey(kCapacityCounter), schema::CounterKey(kMaxInodesCounter),
          quota::EpochKey()};
}

std::string UsageShardKey(const char* counter, int shard) {
  return schema::CounterKey(std::string(counter) + "/" + std::to_string(shard));
}

std::vector<std::string> VolumeUsageKeys(bool bytes) {
  const char* counter = bytes ? kUsedSpaceCounter : kUsedInodesCounter;
  std::vector<std::string> keys;
  keys.reserve(kUsageShards + 1);
  for (int k = 0; k < kUsageShards; k++) keys.push_back(UsageShardKey(counter, k));
  keys.push_back(schema::CounterKey(counter));
  return keys;
}

namespace {

// Sum of raw[from, from + kUsageShards + 1): one counter's shards and its unsharded key.
int64_t SumUsage(const std::vector<std::optional<std::string>>& raw, size_t from) {
  int64_t sum = 0;
  for (size_t i = from; i < from + kUsageShards + 1; i++) {
    sum += schema::DecodeI64(raw[i].value_or(""));
  }
  return sum;
}

// Every usage key of the volume: space keys, then inode keys (VolumeUsageKeys order).
std::vector<std::string> AllUsageKeys() {
  std::vector<std::string> keys = VolumeUsageKeys(true);
  for (auto& k : VolumeUsageKeys(false)) keys.push_back(std::move(k));
  return keys;
}

}  // namespace

Status UpdateVolumeUsage(kv::Transaction& txn, Ino shard_of, int64_t bytes, int64_t inodes) {
  if (bytes == 0 && inodes == 0) return Status::OK();
  const int shard = UsageShard(shard_of);
  // The limits (and the quota epoch) are read so that they join the read set (operations
  // fetch them with their own first reads: RunTxn's read cache answers this then). The
  // increments are blind; the limit check is the quota layer's (quota_kv.h: Meta's engine
  // wrapper admits growth of a shard against the limits read here, from a cached total with
  // a bounded overshoot, so that a limit no longer makes every operation read every shard).
  RETURN_IF_ERROR(txn.BatchGet(UsageLimitKeys()).status());
  if (bytes != 0) {
    RETURN_IF_ERROR(txn.Increment(UsageShardKey(kUsedSpaceCounter, shard), {bytes}, false));
  }
  if (inodes != 0) {
    RETURN_IF_ERROR(txn.Increment(UsageShardKey(kUsedInodesCounter, shard), {inodes}, false));
  }
  return Status::OK();
}

Status UpdateUsage(kv::Transaction& txn, Ino dir, int64_t bytes, int64_t inodes) {
  RETURN_IF_ERROR(UpdateVolumeUsage(txn, dir, bytes, inodes));
  return UpdateDirUsage(txn, dir, bytes, inodes);
}
}  // namespace internal

Result<DirUsage> Meta::GetDirUsage(Ino dir) {
  DirUsage u;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet({schema::AttrKey(dir), schema::UsageKey(dir)}));
        if (!raw[0]) return Status::NotFound("no such directory");
        ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw[0]));
        if (a.type != FileType::kDirectory) return Status(Code::kNotDir, "not a directory");
        u = internal::DecodeUsage(raw[1]);
        return Status::OK();
      },
      opts));
  return u;
}

Status Meta::CheckGrowth(Ino dir, uint64_t bytes) {
  const std::vector<Ino> over = quota_->LooksOver(dir, static_cast<int64_t>(bytes));
  if (over.empty()) return Status::OK();
  kv::TxnOptions opts;
  opts.read_only = true;
  return kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) { return quota_->Recheck(txn, over, static_cast<int64_t>(bytes)); },
      opts);
}

Result<StatFs> Meta::GetStatFs(const Context& ctx, Ino ino) {
  // An unlimited volume reports 1 PiB / 2^40 inodes, or more when already used more.
  constexpr uint64_t kUnlimitedBytes = 1ULL << 50;
  constexpr uint64_t kUnlimitedInodes = 1ULL << 40;
  StatFs st;
  kv::TxnOptions opts;
  opts.read_only = true;
  RETURN_IF_ERROR(kv::RunTxn(
      *engine_,
      [&](kv::Transaction& txn) -> Status {
        // Every shard of both counters and the two limits, in one BatchGet.
        std::vector<std::string> keys = internal::AllUsageKeys();
        const size_t limits = keys.size();
        keys.push_back(schema::CounterKey(internal::kCapacityCounter));
        keys.push_back(schema::CounterKey(internal::kMaxInodesCounter));
        keys.push_back(quota::EpochKey());
        ASSIGN_OR_RETURN(auto raw, txn.BatchGet(keys));
        st.used_bytes = static_cast<uint64_t>(std::max<int64_t>(0, internal::SumUsage(raw, 0)));
        st.used_inodes = static_cast<uint64_t>(
            std::max<int64_t>(0, internal::SumUsage(raw, internal::kUsageShards + 1)));
        st.total_bytes = internal::DecodeU64(raw[limits]);
        st.total_inodes = internal::DecodeU64(raw[limits + 1]);
        // Inside a directory quota (or a --subdir mount of one) the innermost quota is the
        // file system's size: its limits as totals, its subtree usage as used.
        ASSIGN_OR_RETURN(auto q, quota_->Nearest(txn, quota::DecodeEpoch(raw[limits + 2]), ino));
        if (q) {
          const quota::Record& r = q->second;
          if (r.max_bytes > 0) {
            st.total_bytes = r.max_bytes;
            st.used_bytes = static_cast<uint64_t>(std::max<int64_t>(0, r.used_bytes));
          }
          if (r.max_inodes > 0) {
            st.total_inodes = r.max_inodes;
            st.used_inodes = static_cast<uint64_t>(std::max<int64_t>(0, r.used_inodes));
          }
        }
        return Status::OK();
      },
      opts));
  if (st.total_bytes == 0) st.total_bytes = std::max(kUnlimitedBytes, st.used_bytes * 2);
  if (st.total_inodes == 0) st.total_inodes = std::max(kUnlimitedInodes, st.used_inodes * 2);
  return st;
}

}  // namespace strata::meta
