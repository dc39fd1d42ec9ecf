// CountingKv: a KvEngineWrapper that counts the engine round trips a workload costs, as a
// remote engine would pay them (issue 10: the round trips of one create+write+close+rename
// are asserted by a test and may only go down). Counted, one each: every Get, BatchGet, Scan
// and SnapshotScan that reaches the engine, every Validate after more than one read (one read
// is one snapshot, which engines validate without asking the server), every Commit of a transaction
// that wrote (Put, Delete or Increment), and every CommitGroup call that carries a writing
// transaction (a whole group is one round trip: that is the point of group commit). A Commit
// without writes counts nothing (engines answer it locally, or ride it on the last read).
// Reads answered by RunTxn's read cache never reach the wrapper, so they are not counted.
//
// Thread-safety: as the target's; the counters are atomics, safe to read at any time.
// Ownership: shares its target engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "meta/kv/kv_wrapper.h"

namespace strata::kv {

struct RoundTripCounts {
  uint64_t reads = 0;         // Get, BatchGet, Scan, SnapshotScan
  uint64_t validates = 0;     // Validate
  uint64_t commits = 0;       // commit round trips (Commit with writes, CommitGroup calls)
  uint64_t grouped = 0;       // writing transactions committed inside a CommitGroup
  uint64_t transactions = 0;  // Begin
  uint64_t total() const { return reads + validates + commits; }
};

class CountingKv : public KvEngineWrapper {
 public:
  explicit CountingKv(std::shared_ptr<KvEngine> target) : KvEngineWrapper(std::move(target)) {}

  Result<std::unique_ptr<Transaction>> Begin(bool read_only) override;
  std::vector<Status> CommitGroup(const std::vector<Transaction*>& txns) override;

  RoundTripCounts counts() const;
  void Reset();

 private:
  friend class CountingTxn;
  std::atomic<uint64_t> reads_{0}, validates_{0}, commits_{0}, grouped_{0}, transactions_{0};
};

}  // namespace strata::kv
