// FUSE operation metrics: every low-level callback counted (strata_fuse_ops_total{op}),
// timed (strata_fuse_op_seconds{op}, entry to return: callbacks reply before they return) and
// its error replies counted (strata_fuse_errors_total{op}). Done by wrapping the callback
// table once, so the op files stay as they are and a server without a registry pays nothing.
//
// Thread-safety: the table is immutable; series are atomics; the "current op" used to count
// error replies is per thread (the multi-threaded loop runs one request per thread).
#pragma once

#include <memory>

#include "common/metrics.h"
#include "fuse/fuse_includes.h"

namespace strata::fuse {

class FuseOpMetrics {
 public:
  // Registers the series of every operation in `registry` (borrowed; outlives this).
  explicit FuseOpMetrics(MetricsRegistry& registry);

  struct Op {
    Counter* calls = nullptr;
    Counter* errors = nullptr;
    Histogram* latency = nullptr;
  };
  Op& op(int index) { return ops_[index]; }
  static constexpr int kMaxOps = 64;

 private:
  Op ops_[kMaxOps];
};

// LowLevelOps() with every request callback wrapped to count into the server's FuseOpMetrics.
const struct fuse_lowlevel_ops& CountedLowLevelOps();

// Called for every error reply: counts it against the operation running on this thread.
void CountErrorReply();

}  // namespace strata::fuse
