// Quota enforcement (DESIGN.md §10, docs/format/meta-schema.md "Quotas"): a kv engine wrapper
// that Meta puts around its engine, and the per-client cache (Tracker) it consults.
//
// Every usage change of the metadata layer is a blind kv Increment of a directory usage
// record U{dir} (internal::UpdateDirUsage) or of a volume usage shard
// (internal::UpdateVolumeUsage). QuotaTxn sees those increments go by and, in the same
// transaction:
//  - for U{dir}: adds the same change to the Q{q} record of every quota q whose directory is
//    `dir` or above it (nested quotas all count), after admitting growth against each limit;
//  - for a volume shard: admits growth against the volume's capacity / inode limit (the
//    C{capacityBytes} / C{maxInodes} counters the operation read), without reading the shards.
// Growth over a limit fails the increment with kQuotaExceeded (EDQUOT) or kNoSpace (ENOSPC),
// so the operation's transaction writes nothing. A directory renamed across a quota boundary
// moves its subtree's usage through Tracker::MoveDirs (called by Meta::Rename).
//
// Cheap checks, bounded overshoot: the Tracker caches, per client, the quota list (valid while
// C{quotaEpoch} is unchanged: the epoch is read by every charging transaction, from the
// operation's first BatchGet), the quotas over each directory, and each quota's usage. A
// cached usage is re-read (a SnapshotScan, no read-set entry, so no conflict with other
// writers) when it is older than Bounds::refresh, when this client has grown it by more than
// the slack since the last read, and before refusing anything. Another client's growth is
// therefore seen late by at most `slack` plus one operation: with M clients sharing a quota,
// usage may pass the limit by at most (M - 1) * (slack + one operation). This client's own
// operations are counted as they are admitted (in flight included), so one client alone never
// passes a limit. With no quota in the volume, a charge costs no engine round trip (the epoch
// comes from the operation's own first BatchGet, see internal::UsageLimitKeys).
//
// Thread-safety: QuotaKv and Tracker are thread-safe; a QuotaTxn belongs to one thread.
// Errors: the engine's; kQuotaExceeded, kNoSpace; kConflict (retryable) when a transaction
// read an older epoch than the tracker already knows; kCrossDevice (EXDEV) for a directory
// too large to move across a quota boundary in one transaction (mv then copies).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "meta/kv/kv_wrapper.h"
#include "meta/quota_record.h"
#include "meta/types.h"

namespace strata::meta::quota {

// Ino 0 stands for the volume's own limits in the tracker.
inline constexpr Ino kVolume = 0;

struct Bounds {
  int64_t refresh_nanos = 1000000000;  // 1 s: a cached usage older than this is re-read
  int64_t slack_bytes = 4 << 20;       // 4 MiB of own growth between re-reads
  int64_t slack_inodes = 64;           // 64 inodes of own growth between re-reads
};

// Subtree usage of `dir` (the sum of U{d} over it and every directory below it), read in
// `txn`. kCrossDevice when more than max_entries entries would have to be listed.
Result<DirUsage> SubtreeUsage(kv::Transaction& txn, Ino dir, uint64_t max_entries);

class Tracker {
 public:
  // One change charged by a transaction, settled at its commit (Finish).
  struct Charge {
    Ino q = 0;
    int64_t bytes = 0, inodes = 0;
    uint64_t gen = 0;  // the quota's refresh generation when charged
  };

  Tracker(Clock* clock, Bounds bounds) : clock_(clock), bounds_(bounds) {}

  // The quotas whose directory is `dir` or above it, innermost first, for the quota epoch
  // `epoch` that txn read (reloads the list when the epoch is newer than the cached one).
  Result<std::vector<Ino>> QuotasOver(kv::Transaction& txn, uint64_t epoch, Ino dir);
  // Admits (bytes, inodes) on quota q (kVolume: with limits max_bytes/max_inodes, passed in):
  // positive parts are checked against the limit and counted at once; the change is appended
  // to *charges for Finish.
  Status Admit(kv::Transaction& txn, Ino q, int64_t bytes, int64_t inodes,
               std::vector<Charge>* charges, uint64_t volume_max_bytes = 0,
               uint64_t volume_max_inodes = 0);
  // Settles a transaction's charges once its commit returned.
  void Finish(const std::vector<Charge>& charges, bool committed);

  // Called by Meta::Rename inside its transaction for each directory it moves to another
  // parent ((ino, from, to) each): moves the subtree usage between the quotas over the two
  // parents and bumps the epoch when they differ. The moved directory's own inode is charged
  // by the rename's usage updates, not here.
  struct Move {
    Ino dir, from, to;
  };
  Status MoveDirs(kv::Transaction& txn, const std::vector<Move>& moves);

  // Early check for write() (Meta::CheckGrowth), from the cache only: the quotas over `dir`
  // (and kVolume) that growing by `bytes` would pass as this client sees them now. Empty when
  // nothing looks over, or when `dir` is not cached (the commit checks anyway).
  std::vector<Ino> LooksOver(Ino dir, int64_t bytes);
  // Re-reads each of `qs` and refuses (kQuotaExceeded, kNoSpace) when growing by `bytes`
  // still passes one.
  Status Recheck(kv::Transaction& txn, const std::vector<Ino>& qs, int64_t bytes);

  // The innermost quota over `ino` (a directory, or a file: its parent) with its record as
  // stored now, for statfs; nullopt when none.
  Result<std::optional<std::pair<Ino, Record>>> Nearest(kv::Transaction& txn, uint64_t epoch,
                                                        Ino ino);

 private:
  struct Usage {
    Record limits;  // max_* fields; used_* unused
    bool valid = false;
    int64_t base_bytes = 0, base_inodes = 0;    // as last read
    int64_t local_bytes = 0, local_inodes = 0;  // this client's changes since
    int64_t grown_bytes = 0, grown_inodes = 0;  // this client's growth since
    int64_t read_at = 0;                        // monotonic nanos of the last read
    uint64_t gen = 0;
  };
  Status Sync(kv::Transaction& txn, uint64_t epoch);
  // Re-reads the stored usage of q into *u (REQUIRES: mu_ not held).
  Status Refresh(kv::Transaction& txn, Ino q);

  Clock* const clock_;
  const Bounds bounds_;
  std::mutex mu_;
  bool loaded_ = false;
  uint64_t epoch_ = 0;
  std::unordered_map<Ino, Usage> quotas_;             // by quota directory; kVolume too
  std::unordered_map<Ino, std::vector<Ino>> over_;    // dir -> quotas over it (this epoch)
};

// The engine wrapper Meta puts around its engine.
class QuotaKv : public kv::KvEngineWrapper {
 public:
  // Takes the target's retry policy and transaction metrics as they are now (RunTxn reads
  // them from the engine it is given, this wrapper): set them on the target before
  // Meta::Open, as the composition root does.
  QuotaKv(std::shared_ptr<kv::KvEngine> target, std::shared_ptr<Tracker> tracker)
      : KvEngineWrapper(target), tracker_(std::move(tracker)) {
    set_retry_policy(target->retry_policy());
    set_txn_metrics(*target->txn_metrics());
  }
  Result<std::unique_ptr<kv::Transaction>> Begin(bool read_only) override;
  std::vector<Status> CommitGroup(const std::vector<kv::Transaction*>& txns) override;
  Tracker& tracker() { return *tracker_; }

 private:
  std::shared_ptr<Tracker> tracker_;
};

}  // namespace strata::meta::quota
