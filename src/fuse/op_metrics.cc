#include "fuse/op_metrics.h"

#include <chrono>

#include "fuse/fuse_server.h"
#include "fuse/ops.h"

namespace strata::fuse {
namespace {

// The request callbacks StrataFS implements, in one list: name and table member.
#define STRATA_FUSE_OPS(X)                                                                  \
  X(lookup) X(forget) X(forget_multi) X(getattr) X(setattr) X(readlink) X(mknod) X(mkdir)  \
  X(symlink) X(link) X(unlink) X(rmdir) X(rename) X(statfs) X(access) X(open) X(create)    \
  X(read) X(write_buf) X(flush) X(release) X(fsync) X(fallocate) X(copy_file_range)        \
  X(opendir) X(readdir) X(readdirplus) X(releasedir) X(fsyncdir) X(getxattr) X(setxattr)   \
  X(listxattr) X(removexattr) X(getlk) X(setlk) X(flock)

enum OpIndex : int {
#define STRATA_OP_ENUM(name) kOp_##name,
  STRATA_FUSE_OPS(STRATA_OP_ENUM)
#undef STRATA_OP_ENUM
  kOpCount
};
static_assert(kOpCount <= FuseOpMetrics::kMaxOps);

constexpr const char* kOpNames[kOpCount] = {
#define STRATA_OP_NAME(name) #name,
    STRATA_FUSE_OPS(STRATA_OP_NAME)
#undef STRATA_OP_NAME
};

thread_local FuseOpMetrics::Op* t_current = nullptr;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <auto Member, int Index, typename F>
struct Counted;

template <auto Member, int Index, typename... A>
struct Counted<Member, Index, void (*)(fuse_req_t, A...)> {
  static void Call(fuse_req_t req, A... args) {
    // Taken before the call: the reply inside it may free the request.
    FuseOpMetrics* m = ops::ServerOf(req).op_metrics();
    FuseOpMetrics::Op* op = m ? &m->op(Index) : nullptr;
    int64_t start = op ? NowNanos() : 0;
    t_current = op;
    (LowLevelOps().*Member)(req, args...);
    t_current = nullptr;
    if (op) {
      op->calls->Inc();
      op->latency->Observe(static_cast<double>(NowNanos() - start) / 1e9);
    }
  }
};

}  // namespace

FuseOpMetrics::FuseOpMetrics(MetricsRegistry& r) {
  for (int i = 0; i < kOpCount; ++i) {
    Labels l = {{"op", kOpNames[i]}};
    ops_[i].calls = *r.GetCounter("strata_fuse_ops_total", "FUSE operations", l);
    ops_[i].errors = *r.GetCounter("strata_fuse_errors_total", "FUSE operations that failed", l);
    ops_[i].latency = *r.GetHistogram("strata_fuse_op_seconds", "FUSE operation latency", l);
  }
}

const struct fuse_lowlevel_ops& CountedLowLevelOps() {
  static const struct fuse_lowlevel_ops table = [] {
    struct fuse_lowlevel_ops t = LowLevelOps();
#define STRATA_OP_WRAP(name)                                                                 \
  if (t.name != nullptr) {                                                                   \
    t.name = &Counted<&fuse_lowlevel_ops::name, kOp_##name, decltype(t.name)>::Call;          \
  }
    STRATA_FUSE_OPS(STRATA_OP_WRAP)
#undef STRATA_OP_WRAP
    return t;
  }();
  return table;
}

void CountErrorReply() {
  if (t_current != nullptr) t_current->errors->Inc();
}

}  // namespace strata::fuse
