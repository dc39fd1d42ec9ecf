// FUSE operation metrics and the access log: every low-level callback counted on entry
// (strata_fuse_ops_total{op}, so a caller whose request was answered sees it counted), timed (strata_fuse_op_seconds{op}, entry to return: callbacks
// reply before they return) and its error replies counted (strata_fuse_errors_total{op});
// bytes read and written are counted by the read/write callbacks (strata_fuse_read_bytes_total,
// strata_fuse_written_bytes_total). While `.accesslog` is open (vfs/access_log.h) the same
// wrapper writes one line per request: caller, operation, arguments, result, latency. Done by
// wrapping the callback table once, so the op files stay as they are; with nobody reading the
// log the wrapper costs one atomic load more than the counting.
//
// Thread-safety: the table is immutable; series are atomics; the "current op" and its errno,
// used for error replies, are per thread (the multi-threaded loop runs one request per thread).
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
  Counter* read_bytes = nullptr;     // bytes returned by read
  Counter* written_bytes = nullptr;  // bytes accepted by write

 private:
  Op ops_[kMaxOps];
};

// LowLevelOps() with every request callback wrapped to count into the server's FuseOpMetrics
// (when it has one) and to feed the volume's access log (when a reader has it open).
const struct fuse_lowlevel_ops& CountedLowLevelOps();

// Called for every error reply (err != 0): counts it against the operation running on this
// thread and keeps err for its access log line.
void CountErrorReply(int err);

}  // namespace strata::fuse
