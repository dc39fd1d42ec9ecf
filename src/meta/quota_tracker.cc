// Tracker (quota_kv.h): the per-client cache of quotas, the directories below them, and their
// usage; admission of growth with the overshoot bound stated in quota_kv.h.
#include <algorithm>

#include "common/bytes.h"
#include "meta/namespace_util.h"
#include "meta/quota_kv.h"
#include "meta/schema.h"

namespace strata::meta::quota {
namespace {

constexpr int kMaxDepth = 100000;      // a deeper parent chain is corrupt
constexpr size_t kMaxCachedDirs = 1 << 20;  // the directory map is dropped past this
// Entries listed at most to move a directory's usage across a quota boundary in one rename.
constexpr uint64_t kMaxMoveEntries = 100000;

Status StaleEpoch() { return Status(Code::kConflict, "quota epoch changed; retrying"); }

}  // namespace

Result<DirUsage> SubtreeUsage(kv::Transaction& txn, Ino dir, uint64_t max_entries) {
  DirUsage total;
  std::vector<Ino> todo{dir};
  uint64_t listed = 0;
  while (!todo.empty()) {
    const Ino d = todo.back();
    todo.pop_back();
    ASSIGN_OR_RETURN(auto u, txn.Get(schema::UsageKey(d)));
    if (u && u->size() == 16) {
      total.bytes += schema::DecodeI64(std::string_view(*u).substr(0, 8));
      total.inodes += schema::DecodeI64(std::string_view(*u).substr(8, 8));
    }
    const std::string prefix = schema::EntryPrefix(d);
    const std::string end = schema::PrefixEnd(prefix);
    std::string from = prefix;
    for (;;) {
      ASSIGN_OR_RETURN(auto page, txn.Scan(from, end, 1000));
      for (const auto& kv : page) {
        if (++listed > max_entries) {
          return Status(Code::kCrossDevice,
                        "directory too large to move across a quota boundary in one rename");
        }
        FileType type;
        Ino child;
        RETURN_IF_ERROR(schema::DecodeEntry(kv.value, &type, &child));
        if (type == FileType::kDirectory) todo.push_back(child);
      }
      if (page.size() < 1000) break;
      from = page.back().key + '\0';
    }
  }
  return total;
}

Status Tracker::Sync(kv::Transaction& txn, uint64_t epoch) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (loaded_ && epoch == epoch_) return Status::OK();
    if (loaded_ && epoch < epoch_) return StaleEpoch();
  }
  // The list as of now; the epoch read in txn protects it: a change commits a new epoch, so
  // txn then fails its commit and retries with the new one.
  std::unordered_map<Ino, Usage> list;
  const int64_t now = clock_->MonotonicNanos();
  std::string from = "Q";
  const std::string end = schema::PrefixEnd("Q");
  for (;;) {
    ASSIGN_OR_RETURN(auto page, txn.SnapshotScan(from, end, 1000));
    for (const auto& kv : page) {
      if (kv.key.size() != 9) continue;
      auto rec = DecodeRecord(kv.value);
      if (!rec) continue;
      Usage u;
      u.limits = *rec;
      u.valid = true;
      u.base_bytes = rec->used_bytes;
      u.base_inodes = rec->used_inodes;
      u.read_at = now;
      list[GetU64BE(kv.key.data() + 1)] = u;
    }
    if (page.size() < 1000) break;
    from = page.back().key + '\0';
  }
  std::lock_guard<std::mutex> l(mu_);
  if (loaded_ && epoch < epoch_) return StaleEpoch();
  if (loaded_ && epoch == epoch_) return Status::OK();  // another thread loaded it meanwhile
  auto vol = quotas_.find(kVolume);
  if (vol != quotas_.end()) list[kVolume] = vol->second;  // the volume's limits are not quotas
  quotas_ = std::move(list);
  over_.clear();
  epoch_ = epoch;
  loaded_ = true;
  return Status::OK();
}

Result<std::vector<Ino>> Tracker::QuotasOver(kv::Transaction& txn, uint64_t epoch, Ino dir) {
  RETURN_IF_ERROR(Sync(txn, epoch));
  {
    std::lock_guard<std::mutex> l(mu_);
    if (epoch != epoch_) return StaleEpoch();
    if (quotas_.empty() || (quotas_.size() == 1 && quotas_.count(kVolume))) {
      return std::vector<Ino>{};
    }
    auto it = over_.find(dir);
    if (it != over_.end()) return it->second;
  }
  // Walk up until a directory whose quotas are known, or the root.
  std::vector<Ino> path;
  std::vector<Ino> base;
  bool complete = false;
  Ino cur = dir;
  for (int depth = 0; depth < kMaxDepth; depth++) {
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = over_.find(cur);
      if (it != over_.end()) {
        base = it->second;
        complete = true;
        break;
      }
    }
    path.push_back(cur);
    if (cur == kRootIno) {
      complete = true;
      break;
    }
    ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(cur)));
    if (!raw) break;  // removed in this transaction: nothing above it is charged
    ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
    if (a.parent == 0) break;
    cur = a.parent;
  }
  std::lock_guard<std::mutex> l(mu_);
  if (epoch != epoch_) return StaleEpoch();
  if (over_.size() > kMaxCachedDirs) over_.clear();
  for (size_t i = path.size(); i-- > 0;) {
    if (quotas_.count(path[i]) && path[i] != kVolume) base.insert(base.begin(), path[i]);
    if (complete) over_[path[i]] = base;
  }
  return base;
}

Status Tracker::Refresh(kv::Transaction& txn, Ino q) {
  int64_t bytes = 0, inodes = 0;
  if (q == kVolume) {
    // Every shard of both counters (and the unsharded keys of older volumes) in one range:
    // C{usedInodes}... < C{usedSpace}... and nothing else sorts between them.
    const std::string ikey = schema::CounterKey(internal::kUsedInodesCounter);
    const std::string skey = schema::CounterKey(internal::kUsedSpaceCounter);
    ASSIGN_OR_RETURN(auto rows, txn.SnapshotScan(ikey, schema::PrefixEnd(skey), 64));
    for (const auto& kv : rows) {
      if (kv.key.compare(0, skey.size(), skey) == 0) {
        bytes += schema::DecodeI64(kv.value);
      } else if (kv.key.compare(0, ikey.size(), ikey) == 0) {
        inodes += schema::DecodeI64(kv.value);
      }
    }
  } else {
    const std::string key = schema::QuotaKey(q);
    ASSIGN_OR_RETURN(auto rows, txn.SnapshotScan(key, schema::PrefixEnd(key), 1));
    if (!rows.empty() && rows[0].key == key) {
      if (auto rec = DecodeRecord(rows[0].value)) {
        bytes = rec->used_bytes;
        inodes = rec->used_inodes;
      }
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  Usage& u = quotas_[q];
  u.valid = true;
  u.base_bytes = bytes;
  u.base_inodes = inodes;
  u.local_bytes = u.local_inodes = 0;
  u.grown_bytes = u.grown_inodes = 0;
  u.read_at = clock_->MonotonicNanos();
  u.gen++;
  return Status::OK();
}

Status Tracker::Admit(kv::Transaction& txn, Ino q, int64_t bytes, int64_t inodes,
                      std::vector<Charge>* charges, uint64_t volume_max_bytes,
                      uint64_t volume_max_inodes) {
  const int64_t gb = std::max<int64_t>(bytes, 0), gi = std::max<int64_t>(inodes, 0);
  // Re-read only before this transaction charged q (a read could include its own increment).
  const bool charged_here =
      std::any_of(charges->begin(), charges->end(), [&](const Charge& c) { return c.q == q; });
  for (int attempt = 0; attempt < 2; attempt++) {
    bool refresh = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = quotas_.find(q);
      if (it == quotas_.end() && q != kVolume) return Status::OK();  // not a quota (any more)
      Usage& u = quotas_[q];
      if (q == kVolume) {
        u.limits.max_bytes = volume_max_bytes;
        u.limits.max_inodes = volume_max_inodes;
      }
      const bool over =
          (gb > 0 && u.limits.max_bytes > 0 &&
           u.base_bytes + u.local_bytes + gb > static_cast<int64_t>(u.limits.max_bytes)) ||
          (gi > 0 && u.limits.max_inodes > 0 &&
           u.base_inodes + u.local_inodes + gi > static_cast<int64_t>(u.limits.max_inodes));
      if (gb > 0 || gi > 0) {
        refresh = !u.valid || clock_->MonotonicNanos() - u.read_at > bounds_.refresh_nanos ||
                  u.grown_bytes + gb > bounds_.slack_bytes ||
                  u.grown_inodes + gi > bounds_.slack_inodes || over;
      }
      if (!refresh || charged_here || attempt == 1) {
        if (over) {
          const bool vol = q == kVolume;
          const bool space = gb > 0 && u.limits.max_bytes > 0 &&
                             u.base_bytes + u.local_bytes + gb >
                                 static_cast<int64_t>(u.limits.max_bytes);
          std::string what = space ? std::to_string(u.limits.max_bytes) + " bytes"
                                   : std::to_string(u.limits.max_inodes) + " inodes";
          if (vol) return Status(Code::kNoSpace, "volume limit of " + what + " reached");
          return Status(Code::kQuotaExceeded,
                        "quota of " + what + " reached (directory inode " + std::to_string(q) + ")");
        }
        u.local_bytes += gb;
        u.local_inodes += gi;
        u.grown_bytes += gb;
        u.grown_inodes += gi;
        charges->push_back({q, bytes, inodes, u.gen});
        return Status::OK();
      }
    }
    RETURN_IF_ERROR(Refresh(txn, q));
  }
  return Status::OK();  // not reached
}

void Tracker::Finish(const std::vector<Charge>& charges, bool committed) {
  if (charges.empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  for (const Charge& c : charges) {
    auto it = quotas_.find(c.q);
    if (it == quotas_.end()) continue;
    Usage& u = it->second;
    const bool same = c.gen == u.gen;
    const int64_t gb = std::max<int64_t>(c.bytes, 0), gi = std::max<int64_t>(c.inodes, 0);
    const int64_t sb = std::min<int64_t>(c.bytes, 0), si = std::min<int64_t>(c.inodes, 0);
    if (committed) {
      // Growth was counted when admitted; after a re-read in between it may or may not be in
      // the read value: count it again (errs towards refusing, until the next re-read).
      if (!same) {
        u.local_bytes += gb;
        u.local_inodes += gi;
      }
      // Shrinking counts once it committed, unless a re-read may already have seen it.
      if (same) {
        u.local_bytes += sb;
        u.local_inodes += si;
      }
    } else if (same) {
      u.local_bytes -= gb;
      u.local_inodes -= gi;
      u.grown_bytes -= gb;
      u.grown_inodes -= gi;
    }
  }
}

Status Tracker::MoveDirs(kv::Transaction& txn, const std::vector<Move>& moves) {
  ASSIGN_OR_RETURN(auto raw, txn.Get(EpochKey()));
  const uint64_t epoch = DecodeEpoch(raw);
  bool crossed = false;
  for (const Move& m : moves) {
    if (m.from == m.to) continue;
    ASSIGN_OR_RETURN(std::vector<Ino> a, QuotasOver(txn, epoch, m.from));
    ASSIGN_OR_RETURN(std::vector<Ino> b, QuotasOver(txn, epoch, m.to));
    if (a == b) continue;
    crossed = true;
    // The content of the moved directory (its own inode moves with the rename's updates).
    DirUsage s;
    bool is_quota;
    {
      std::lock_guard<std::mutex> l(mu_);
      is_quota = quotas_.count(m.dir) > 0;
    }
    if (is_quota) {
      ASSIGN_OR_RETURN(auto rec, txn.Get(schema::QuotaKey(m.dir)));
      if (rec) {
        if (auto r = DecodeRecord(*rec)) s = DirUsage{r->used_bytes, r->used_inodes};
      }
    } else {
      ASSIGN_OR_RETURN(s, SubtreeUsage(txn, m.dir, kMaxMoveEntries));
    }
    if (s.bytes == 0 && s.inodes == 0) continue;
    for (Ino q : b) {
      if (std::find(a.begin(), a.end(), q) != a.end()) continue;
      RETURN_IF_ERROR(txn.Increment(schema::QuotaKey(q), ChargeDeltas(s.bytes, s.inodes), false));
    }
    for (Ino q : a) {
      if (std::find(b.begin(), b.end(), q) != b.end()) continue;
      RETURN_IF_ERROR(
          txn.Increment(schema::QuotaKey(q), ChargeDeltas(-s.bytes, -s.inodes), false));
    }
  }
  if (crossed) {
    // Which quotas are over the moved directories changed: every client's map goes.
    std::string v;
    PutU64BE(&v, epoch + 1);
    txn.Put(EpochKey(), v);
  }
  return Status::OK();
}

namespace {
bool BytesOver(int64_t base, int64_t local, int64_t bytes, uint64_t max) {
  return max > 0 && base + local + bytes > static_cast<int64_t>(max);
}
}  // namespace

std::vector<Ino> Tracker::LooksOver(Ino dir, int64_t bytes) {
  std::vector<Ino> out;
  if (bytes <= 0) return out;
  std::lock_guard<std::mutex> l(mu_);
  if (!loaded_) return out;
  auto vol = quotas_.find(kVolume);
  if (vol != quotas_.end() && vol->second.valid &&
      BytesOver(vol->second.base_bytes, vol->second.local_bytes, bytes,
                vol->second.limits.max_bytes)) {
    out.push_back(kVolume);
  }
  auto it = over_.find(dir);
  if (it == over_.end()) return out;
  for (Ino q : it->second) {
    auto u = quotas_.find(q);
    if (u != quotas_.end() &&
        BytesOver(u->second.base_bytes, u->second.local_bytes, bytes, u->second.limits.max_bytes)) {
      out.push_back(q);
    }
  }
  return out;
}

Status Tracker::Recheck(kv::Transaction& txn, const std::vector<Ino>& qs, int64_t bytes) {
  for (Ino q : qs) {
    RETURN_IF_ERROR(Refresh(txn, q));
    std::lock_guard<std::mutex> l(mu_);
    const Usage& u = quotas_[q];
    if (!BytesOver(u.base_bytes, u.local_bytes, bytes, u.limits.max_bytes)) continue;
    const std::string what = std::to_string(u.limits.max_bytes) + " bytes";
    if (q == kVolume) return Status(Code::kNoSpace, "volume limit of " + what + " reached");
    return Status(Code::kQuotaExceeded,
                  "quota of " + what + " reached (directory inode " + std::to_string(q) + ")");
  }
  return Status::OK();
}

Result<std::optional<std::pair<Ino, Record>>> Tracker::Nearest(kv::Transaction& txn,
                                                               uint64_t epoch, Ino ino) {
  using Out = std::optional<std::pair<Ino, Record>>;
  ASSIGN_OR_RETURN(auto raw, txn.Get(schema::AttrKey(ino)));
  if (!raw) return Out();
  ASSIGN_OR_RETURN(Attr a, schema::DecodeAttr(*raw));
  const Ino dir = a.type == FileType::kDirectory ? ino : (a.parent ? a.parent : kRootIno);
  ASSIGN_OR_RETURN(std::vector<Ino> over, QuotasOver(txn, epoch, dir));
  for (Ino q : over) {
    ASSIGN_OR_RETURN(auto rec, txn.Get(schema::QuotaKey(q)));
    if (!rec) continue;
    if (auto r = DecodeRecord(*rec)) return Out(std::make_pair(q, *r));
  }
  return Out();
}

}  // namespace strata::meta::quota
